//! A streaming tar reader whose cost is bounded by the archive's bytes and by settings, never by
//! what a header claims. Layer walks, the index of a `docker save` file and the stream on
//! standard input all read tar through it.
//!
//! Why not the `tar` crate's reader (the fixture builder still writes with it): it reads GNU
//! long names and PAX headers whole, whatever their size (a 1 GB name took 9 GB), expands old
//! GNU sparse files into their holes' zeros (a 1 TiB claim took 75 s to read), and quotes header
//! bytes in its errors (a host file read as a tar printed its first bytes). Here extension
//! headers are bounded by the `tar-header` limit, a sparse file is its stored bytes plus a map
//! (its real size is metadata), and errors say what and where, never the content.
//!
//! Formats: v7, ustar (with its name prefix), GNU (long names and links `L`/`K`, old sparse `S`
//! with extension blocks), PAX (`path`, `linkpath`, `size`, `uid`, `gid`, and GNU's sparse
//! records, formats 0.0, 0.1 and 1.0). Global PAX headers are read and ignored, as the
//! `tar` crate and dive do.

use std::io::{self, Read, Seek, SeekFrom};

use crate::limits;

const BLOCK: u64 = 512;

/// One member of the archive, its extension headers applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The type flag byte (`0`, `5`, `2`, ...; `\0` is a regular file).
    pub typeflag: u8,
    /// The name as stored (PAX `path`, else the GNU long name, else ustar prefix and name).
    pub path: Vec<u8>,
    /// The link target (PAX `linkpath`, else the GNU long link, else the header's); empty when
    /// there is none.
    pub link: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Bytes of data stored after the header.
    pub size: u64,
    /// Set for a sparse file (old GNU `S`, or GNU's PAX sparse formats).
    pub sparse: Option<Sparse>,
    /// Where the member's first header starts in the archive.
    pub offset: u64,
    /// Where its data starts.
    pub data_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sparse {
    /// The file's size with its holes, as the archive claims: metadata, never bytes to read.
    pub real_size: u64,
    /// The stored segments as (offset in the file, length), in the order stored; `None` when the
    /// map was longer than the `tar-header` limit allows to keep.
    pub map: Option<Vec<(u64, u64)>>,
    /// GNU's PAX format 1.0 keeps the map at the start of the data, in decimal text.
    pub map_in_data: bool,
    /// The real name (PAX `GNU.sparse.name`), when the header's name is GNU's placeholder.
    pub name: Option<Vec<u8>>,
}

impl Header {
    /// The size a file has once extracted: the real size of a sparse file, else the data's.
    pub fn file_size(&self) -> u64 {
        self.sparse.as_ref().map_or(self.size, |s| s.real_size)
    }
}

/// Reads members one after the other; between two calls of [`Reader::next_header`], the reader itself
/// reads the current member's data.
pub struct Reader<R> {
    inner: R,
    pos: u64,
    /// Data of the current member not read yet, then its padding to the next block.
    data_left: u64,
    pad_left: u64,
    skip: Option<fn(&mut R, u64) -> io::Result<()>>,
    max_header: u64,
    ended: bool,
}

impl<R: Read> Reader<R> {
    /// A reader that skips data by reading it; `max_header` is the `tar-header` limit.
    pub fn new(inner: R, max_header: u64) -> Self {
        Reader {
            inner,
            pos: 0,
            data_left: 0,
            pad_left: 0,
            skip: None,
            max_header,
            ended: false,
        }
    }

    /// Bytes of the archive consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next member, `None` at the end-of-archive marker. An archive that ends without the
    /// marker is truncated, and an error.
    pub fn next_header(&mut self) -> io::Result<Option<Header>> {
        if self.ended {
            return Ok(None);
        }
        self.skip_rest()?;
        let offset = self.pos;
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax = Pax::default();
        let mut extended = false;
        loop {
            let at = self.pos;
            let mut block = [0u8; BLOCK as usize];
            match self.read_block(&mut block)? {
                Block::Full => {}
                Block::Eof if extended => {
                    return Err(bad(at, "the archive ends after an extension header"));
                }
                Block::Eof => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "truncated tar: it ends without the end-of-archive marker",
                    ));
                }
                Block::Partial => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("truncated tar: it ends inside the header at offset {at}"),
                    ));
                }
            }
            if block.iter().all(|&b| b == 0) {
                if extended {
                    return Err(bad(at, "an extension header is followed by the end marker"));
                }
                self.ended = true;
                return Ok(None);
            }
            check_checksum(&block, at)?;
            let typeflag = block[156];
            let size = number(&block[124..136]).ok_or_else(|| bad(at, "bad size field"))?;
            match typeflag {
                b'L' => {
                    long_name = Some(trim_nul(self.read_extension(
                        size,
                        "a GNU long name",
                        at,
                    )?));
                    extended = true;
                    continue;
                }
                b'K' => {
                    long_link = Some(trim_nul(self.read_extension(
                        size,
                        "a GNU long link",
                        at,
                    )?));
                    extended = true;
                    continue;
                }
                b'x' => {
                    let records = self.read_extension(size, "a PAX header", at)?;
                    pax.parse(&records, at)?;
                    extended = true;
                    continue;
                }
                b'g' => {
                    self.read_extension(size, "a global PAX header", at)?;
                    continue;
                }
                _ => {}
            }
            let mut header = self.member(&block, typeflag, size, at, offset)?;
            if let Some(name) = long_name {
                header.path = name;
            }
            if let Some(link) = long_link {
                header.link = link;
            }
            pax.apply(&mut header, at)?;
            header.data_at = self.pos;
            self.data_left = header.size;
            self.pad_left = padding(header.size);
            return Ok(Some(header));
        }
    }

    /// A member's own header block (and, for an old GNU sparse file, its extension blocks).
    fn member(
        &mut self,
        block: &[u8; 512],
        typeflag: u8,
        size: u64,
        at: u64,
        offset: u64,
    ) -> io::Result<Header> {
        let field = |range: std::ops::Range<usize>, what: &str| {
            number(&block[range]).ok_or_else(|| bad(at, &format!("bad {what} field")))
        };
        let magic = &block[257..263];
        let mut path = cstr(&block[0..100]).to_vec();
        if magic == b"ustar\0" {
            let prefix = cstr(&block[345..500]);
            if !prefix.is_empty() {
                path = [prefix, b"/", &path].concat();
            }
        }
        let mut header = Header {
            typeflag,
            path,
            link: cstr(&block[157..257]).to_vec(),
            // Only the permission and file-type bits; a garbage field is no reason to stop.
            mode: number(&block[100..108]).unwrap_or(0o644) as u32,
            uid: field(108..116, "uid")?,
            gid: field(116..124, "gid")?,
            size,
            sparse: None,
            offset,
            data_at: 0,
        };
        if typeflag == b'S' {
            header.sparse = Some(self.old_gnu_sparse(block, at)?);
        }
        Ok(header)
    }

    /// The sparse map of an old GNU sparse header: four entries in the header, then 21 in each
    /// extension block while the last byte says another follows. Reading them costs their
    /// bytes; the map is kept only while within the `tar-header` limit.
    fn old_gnu_sparse(&mut self, block: &[u8; 512], at: u64) -> io::Result<Sparse> {
        let real_size = number(&block[483..495]).ok_or_else(|| bad(at, "bad sparse size"))?;
        let mut map = Some(Vec::new());
        let mut kept_bytes = 0u64;
        let max_header = self.max_header;
        let mut add = |entries: &[u8], map: &mut Option<Vec<(u64, u64)>>| -> io::Result<()> {
            for entry in entries.chunks_exact(24) {
                if entry[0] == 0 && entry[12] == 0 {
                    continue;
                }
                let off = number(&entry[..12]).ok_or_else(|| bad(at, "bad sparse offset"))?;
                let len = number(&entry[12..]).ok_or_else(|| bad(at, "bad sparse length"))?;
                kept_bytes += 24;
                match map {
                    Some(m) if kept_bytes <= max_header => m.push((off, len)),
                    _ => *map = None,
                }
            }
            Ok(())
        };
        add(&block[386..482], &mut map)?;
        let mut more = block[482] != 0;
        while more {
            let ext_at = self.pos;
            let mut ext = [0u8; 512];
            if !matches!(self.read_block(&mut ext)?, Block::Full) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated tar: it ends inside a sparse map at offset {ext_at}"),
                ));
            }
            add(&ext[..504], &mut map)?;
            more = ext[504] != 0;
        }
        Ok(Sparse {
            real_size,
            map,
            map_in_data: false,
            name: None,
        })
    }

    /// The data of an extension header, within the `tar-header` limit.
    fn read_extension(&mut self, size: u64, what: &str, at: u64) -> io::Result<Vec<u8>> {
        if size > self.max_header {
            return Err(bad(
                at,
                &format!(
                    "{what} of {size} bytes is over {}",
                    limits::named_bytes("tar-header", self.max_header)
                ),
            ));
        }
        let mut data = vec![0u8; size as usize];
        self.inner.read_exact(&mut data).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("truncated tar: it ends inside {what} at offset {at}"),
                )
            } else {
                e
            }
        })?;
        self.pos += size;
        self.pad_left = padding(size);
        self.data_left = 0;
        self.skip_rest()?;
        Ok(data)
    }

    fn read_block(&mut self, block: &mut [u8; 512]) -> io::Result<Block> {
        let mut filled = 0;
        while filled < block.len() {
            match self.inner.read(&mut block[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.pos += filled as u64;
        Ok(match filled {
            0 => Block::Eof,
            512 => Block::Full,
            _ => Block::Partial,
        })
    }

    /// Moves past what is left of the current member's data and padding.
    fn skip_rest(&mut self) -> io::Result<()> {
        let n = self.data_left + self.pad_left;
        if n == 0 {
            return Ok(());
        }
        self.data_left = 0;
        self.pad_left = 0;
        match self.skip {
            Some(skip) => skip(&mut self.inner, n)?,
            None => {
                let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink())?;
                if copied < n {
                    self.pos += copied;
                    return Err(truncated_data());
                }
            }
        }
        self.pos += n;
        Ok(())
    }
}

impl<R: Read + Seek> Reader<R> {
    /// A reader that seeks past data it is not asked for.
    pub fn seekable(inner: R, max_header: u64) -> Self {
        let mut reader = Reader::new(inner, max_header);
        reader.skip = Some(|inner, n| {
            let n = i64::try_from(n)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "tar entry too large"))?;
            inner.seek(SeekFrom::Current(n)).map(|_| ())
        });
        reader
    }
}

/// Reads the current member's data.
impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.data_left) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(truncated_data());
        }
        self.data_left -= n as u64;
        self.pos += n as u64;
        Ok(n)
    }
}

enum Block {
    Full,
    Partial,
    Eof,
}

fn truncated_data() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "truncated tar: it ends inside a file's data",
    )
}

fn bad(at: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a valid tar: {what} in the header at offset {at}"),
    )
}

fn padding(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

/// The bytes before the first NUL.
fn cstr(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

fn trim_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes.truncate(end);
    bytes
}

/// A numeric field: octal text (leading blanks, ended by NUL or blank), or GNU's base-256
/// (high bit set). An empty field is 0; a negative or overflowing one is `None`.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return None;
        }
        let mut value = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            if value > u64::MAX >> 8 {
                return None;
            }
            value = (value << 8) | u64::from(b);
        }
        return Some(value);
    }
    let start = field.iter().position(|&b| b != b' ').unwrap_or(field.len());
    let digits_end = field[start..]
        .iter()
        .position(|b| !(b'0'..=b'7').contains(b))
        .map_or(field.len(), |p| start + p);
    if !field[digits_end..].iter().all(|&b| b == 0 || b == b' ') {
        return None;
    }
    field[start..digits_end].iter().try_fold(0u64, |v, &d| {
        v.checked_mul(8)?.checked_add(u64::from(d - b'0'))
    })
}

/// The header checksum, which tars compute over unsigned or (old ones) signed bytes.
fn check_checksum(block: &[u8; 512], at: u64) -> io::Result<()> {
    let stored = number(&block[148..156]).ok_or_else(|| bad(at, "bad checksum field"))?;
    let (mut unsigned, mut signed) = (0u64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err(bad(at, "checksum mismatch"))
    }
}

/// The PAX records that apply to the next member.
#[derive(Default)]
struct Pax {
    path: Option<Vec<u8>>,
    link: Option<Vec<u8>>,
    size: Option<u64>,
    uid: Option<u64>,
    gid: Option<u64>,
    sparse_name: Option<Vec<u8>>,
    sparse_real_size: Option<u64>,
    sparse_major: Option<u64>,
    /// Format 0.0 repeats `GNU.sparse.offset` and `GNU.sparse.numbytes`; 0.1 lists them in
    /// `GNU.sparse.map`.
    sparse_map: Vec<(u64, u64)>,
    pending_offset: Option<u64>,
    any_sparse: bool,
}

impl Pax {
    /// Parses `LEN KEY=VALUE\n` records. Two PAX headers before one member add up.
    fn parse(&mut self, mut records: &[u8], at: u64) -> io::Result<()> {
        let malformed = || bad(at, "malformed PAX record");
        while !records.is_empty() {
            if records.iter().all(|&b| b == 0) {
                break;
            }
            let space = records
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(malformed)?;
            let len: usize = std::str::from_utf8(&records[..space])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(malformed)?;
            if len <= space + 1 || len > records.len() || records[len - 1] != b'\n' {
                return Err(malformed());
            }
            let record = &records[space + 1..len - 1];
            records = &records[len..];
            let eq = record
                .iter()
                .position(|&b| b == b'=')
                .ok_or_else(malformed)?;
            let (key, value) = (&record[..eq], &record[eq + 1..]);
            let num = || -> io::Result<u64> {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| bad(at, "bad number in a PAX record"))
            };
            match key {
                b"path" => self.path = Some(value.to_vec()),
                b"linkpath" => self.link = Some(value.to_vec()),
                b"size" => self.size = Some(num()?),
                b"uid" => self.uid = Some(num()?),
                b"gid" => self.gid = Some(num()?),
                b"GNU.sparse.name" => {
                    self.sparse_name = Some(value.to_vec());
                    self.any_sparse = true;
                }
                b"GNU.sparse.realsize" | b"GNU.sparse.size" => {
                    self.sparse_real_size = Some(num()?);
                    self.any_sparse = true;
                }
                b"GNU.sparse.major" => {
                    self.sparse_major = Some(num()?);
                    self.any_sparse = true;
                }
                b"GNU.sparse.minor" | b"GNU.sparse.numblocks" => self.any_sparse = true,
                b"GNU.sparse.offset" => {
                    self.pending_offset = Some(num()?);
                    self.any_sparse = true;
                }
                b"GNU.sparse.numbytes" => {
                    let len = num()?;
                    if let Some(off) = self.pending_offset.take() {
                        self.sparse_map.push((off, len));
                    }
                }
                b"GNU.sparse.map" => {
                    self.any_sparse = true;
                    let numbers: Vec<u64> = std::str::from_utf8(value)
                        .map_err(|_| malformed())?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.trim().parse::<u64>().map_err(|_| malformed()))
                        .collect::<io::Result<_>>()?;
                    for pair in numbers.chunks_exact(2) {
                        self.sparse_map.push((pair[0], pair[1]));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn apply(self, header: &mut Header, at: u64) -> io::Result<()> {
        if let Some(path) = self.path {
            header.path = path;
        }
        if let Some(link) = self.link {
            header.link = link;
        }
        if let Some(size) = self.size {
            header.size = size;
        }
        if let Some(uid) = self.uid {
            header.uid = uid;
        }
        if let Some(gid) = self.gid {
            header.gid = gid;
        }
        if self.any_sparse && header.sparse.is_none() {
            let map_in_data = self.sparse_major == Some(1);
            let real_size = self
                .sparse_real_size
                .ok_or_else(|| bad(at, "a PAX sparse file without its real size"))?;
            header.sparse = Some(Sparse {
                real_size,
                map: (!map_in_data).then_some(self.sparse_map),
                map_in_data,
                name: self.sparse_name,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        b.into_inner().unwrap()
    }

    fn all(bytes: &[u8]) -> io::Result<Vec<(Header, Vec<u8>)>> {
        let mut r = Reader::new(bytes, 64 << 10);
        let mut out = Vec::new();
        while let Some(h) = r.next_header()? {
            let mut data = Vec::new();
            r.read_to_end(&mut data)?;
            out.push((h, data));
        }
        Ok(out)
    }

    #[test]
    fn reads_gnu_long_names_and_pax_paths() {
        let long = "d/".repeat(100) + "file";
        let bytes = tar(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            h.set_mode(0o4755);
            h.set_uid(1000);
            b.append_data(&mut h, &long, &b"abc"[..]).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "short", "t".repeat(300)).unwrap();
            b.append_pax_extensions([("path", b"pax/name".as_slice())])
                .unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_size(1);
            b.append_data(&mut h, "ignored", &b"x"[..]).unwrap();
        });
        let got = all(&bytes).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0.path, long.as_bytes());
        assert_eq!(got[0].0.mode & 0o7777, 0o4755);
        assert_eq!(got[0].0.uid, 1000);
        assert_eq!(got[0].1, b"abc");
        assert_eq!(got[1].0.typeflag, b'2');
        assert_eq!(got[1].0.link, "t".repeat(300).as_bytes());
        assert_eq!(got[2].0.path, b"pax/name");
        assert_eq!(got[2].1, b"x");
    }

    #[test]
    fn names_over_the_limit_are_an_error_that_names_it() {
        let bytes = tar(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            b.append_data(&mut h, "n".repeat(70_000), io::empty())
                .unwrap();
        });
        let e = all(&bytes).unwrap_err();
        assert!(
            e.to_string()
                .contains("a GNU long name of 70001 bytes is over the tar-header limit"),
            "{e}"
        );
    }

    #[test]
    fn truncation_and_garbage_are_errors_without_content() {
        let bytes = tar(|b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(600);
            b.append_data(&mut h, "f", &[1u8; 600][..]).unwrap();
        });
        for cut in [0, 100, 512, 700, 1536] {
            assert!(all(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(all(&bytes).is_ok());
        let secret = br#"{"auths":{"registry.example":{"auth":"c2VjcmV0OnRva2Vu"}}}"#;
        let mut garbage = secret.to_vec();
        garbage.resize(2048, b' ');
        let e = all(&garbage).unwrap_err().to_string();
        assert!(!e.contains("auth"), "{e}");
        assert_eq!(
            e,
            "not a valid tar: checksum mismatch in the header at offset 0"
        );
    }

    #[test]
    fn numbers_in_octal_and_base_256() {
        assert_eq!(number(b"0000644\0"), Some(0o644));
        assert_eq!(number(b"  644 \0"), Some(0o644));
        assert_eq!(number(b"\0\0\0\0"), Some(0));
        assert_eq!(number(b"12x\0"), None);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff; 12]), None);
        assert_eq!(number(&[0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
