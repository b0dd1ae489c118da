//! A registry that misbehaves on purpose, for the hostile-input tests: it serves one image from
//! an OCI layout the fixture builder wrote, over plain HTTP on a loopback port (std threads, no
//! tools), and answers slowly, endlessly, short, or with error pages that echo the client's
//! credentials, as its `Behaviour` says. Stops when dropped.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Honest,
    /// The status line and headers, one byte at a time, 5 a second.
    SlowHeaders,
    /// The manifest's body, one byte at a time, 5 a second.
    SlowManifest,
    /// A layer blob's body, one byte at a time, 5 a second.
    SlowBlob,
    /// A layer blob with a Content-Length larger than what is sent, on a connection kept open.
    ShortBlob,
    /// A manifest that never ends (no Content-Length), as fast as it goes.
    EndlessManifest,
    /// A manifest claiming a Content-Length of 10 GB.
    HugeManifest,
    /// Basic auth is asked for; the manifest is then refused with this status and a page that
    /// echoes the Authorization header and the password it encodes.
    EchoAuth(u16),
}

pub struct FakeRegistry {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl FakeRegistry {
    /// Serves the image of the OCI layout at `layout` as `<address>/image:1`.
    pub fn start(layout: PathBuf, behaviour: Behaviour) -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let layout = layout.clone();
                            let stop = Arc::clone(&stop);
                            std::thread::spawn(move || {
                                let _ = serve(conn, &layout, behaviour, &stop);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        FakeRegistry { port, stop }
    }

    pub fn reference(&self) -> String {
        format!("docker://127.0.0.1:{}/image:1", self.port)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn manifest_digest(layout: &std::path::Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn blob(layout: &std::path::Path, digest: &str) -> Option<Vec<u8>> {
    let hex = digest.strip_prefix("sha256:")?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read(layout.join("blobs/sha256").join(hex)).ok()
}

/// Writes bytes one at a time, 5 a second, until done, the client leaves, or the test ends.
fn trickle(conn: &mut TcpStream, bytes: &[u8], stop: &AtomicBool) -> std::io::Result<()> {
    for b in bytes {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        conn.write_all(&[*b])?;
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn serve(
    mut conn: TcpStream,
    layout: &std::path::Path,
    behaviour: Behaviour,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // A TLS handshake: this registry speaks plain HTTP only, so hang up as a web server would.
    if conn.peek(&mut byte)? == 1 && byte[0] == 0x16 {
        return Ok(());
    }
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if conn.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
    let authorization = head
        .split("\r\n")
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    let respond = |conn: &mut TcpStream, status: &str, kind: &str, body: &[u8]| {
        write!(
            conn,
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        conn.write_all(body)
    };
    const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

    if path == "/v2/" {
        if let Behaviour::EchoAuth(_) = behaviour {
            if authorization.is_empty() {
                return write!(
                    conn,
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"fake\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        }
        if behaviour == Behaviour::SlowHeaders {
            return trickle(
                &mut conn,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                stop,
            );
        }
        return respond(&mut conn, "200 OK", "application/json", b"{}");
    }
    if let Some(rest) = path.strip_prefix("/v2/image/manifests/") {
        let digest = if rest.starts_with("sha256:") {
            rest.to_string()
        } else {
            manifest_digest(layout)
        };
        let Some(body) = blob(layout, &digest) else {
            return respond(&mut conn, "404 Not Found", "application/json", b"{}");
        };
        match behaviour {
            Behaviour::SlowManifest => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: {MANIFEST}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )?;
                return trickle(&mut conn, &body, stop);
            }
            Behaviour::EndlessManifest => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: {MANIFEST}\r\nConnection: close\r\n\r\n{{\"a\":\""
                )?;
                let chunk = vec![b'x'; 64 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    conn.write_all(&chunk)?;
                }
                return Ok(());
            }
            Behaviour::HugeManifest => {
                return write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: {MANIFEST}\r\nContent-Length: 10000000000\r\nConnection: close\r\n\r\n{{"
                );
            }
            Behaviour::EchoAuth(status) => {
                let decoded = authorization
                    .strip_prefix("Basic ")
                    .map(decode_base64)
                    .unwrap_or_default();
                let page = format!(
                    "<html><body><h1>Forbidden</h1><p>You sent: Authorization: {authorization}</p><p>That is {decoded}</p>{}</body></html>",
                    "<p>padding</p>".repeat(200)
                );
                let reason = if status == 403 {
                    "Forbidden"
                } else {
                    "Internal Server Error"
                };
                return respond(
                    &mut conn,
                    &format!("{status} {reason}"),
                    "text/html",
                    page.as_bytes(),
                );
            }
            _ => return respond(&mut conn, "200 OK", MANIFEST, &body),
        }
    }
    if let Some(digest) = path.strip_prefix("/v2/image/blobs/") {
        let Some(body) = blob(layout, digest) else {
            return respond(&mut conn, "404 Not Found", "application/json", b"{}");
        };
        // Configs are small; the misbehaviours are for layers.
        let is_layer = body.len() > 2048 || !body.starts_with(b"{");
        match behaviour {
            Behaviour::SlowBlob if is_layer => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )?;
                return trickle(&mut conn, &body, stop);
            }
            Behaviour::ShortBlob if is_layer => {
                write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    body.len() + 1000
                )?;
                conn.write_all(&body)?;
                // Keep the connection open, sending nothing more.
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Ok(());
            }
            _ => return respond(&mut conn, "200 OK", "application/octet-stream", &body),
        }
    }
    respond(&mut conn, "404 Not Found", "application/json", b"{}")
}

fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|&c| c != b'=') {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else {
            break;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
