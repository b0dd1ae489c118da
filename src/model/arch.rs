//! One table of the CPU architectures an image can be for, and every name each goes by: the
//! OCI/Go name and variant of the image config, the ELF `e_machine`, Debian's GNU triplet
//! (`/usr/lib/<triplet>`), musl's and glibc's loader names, the `$PLATFORM` the loader expands
//! in search paths, and the word wheel platform tags and CPython's extension suffixes use.
//! Everything that maps architectures asks this table.

use goblin::elf::header;

/// One architecture (with its variant, where the variant changes a name).
#[derive(Debug, PartialEq, Eq)]
pub struct Arch {
    /// GOARCH, as in an image config's `architecture`: `amd64`, `arm64`.
    pub goarch: &'static str,
    /// The config's `variant` this row is for (`None`: any, or the default).
    pub variant: Option<&'static str>,
    /// Rust's `std::env::consts::ARCH` for the same machine.
    pub rust: &'static str,
    /// ELF `e_machine`.
    pub machine: u16,
    /// ELF class: 32 or 64.
    pub class: u8,
    /// Debian's multiarch triplet: `x86_64-linux-gnu`.
    pub triplet: &'static str,
    /// musl's word in `ld-musl-<arch>.so.1`, `libc.musl-<arch>.so.1` and `/etc/ld-musl-<arch>.path`.
    pub musl: &'static str,
    /// glibc's loader (PT_INTERP's file name): `ld-linux-x86-64.so.2`.
    pub glibc_loader: &'static str,
    /// What glibc's loader substitutes for `$PLATFORM` (the usual value; the real one can
    /// depend on the CPU).
    pub platform: &'static str,
    /// The word in wheel platform tags and CPython extension suffixes: `x86_64`, `aarch64`.
    pub wheel: &'static str,
}

const fn row(
    goarch: &'static str,
    variant: Option<&'static str>,
    rust: &'static str,
    machine: u16,
    class: u8,
    names: [&'static str; 5],
) -> Arch {
    let [triplet, musl, glibc_loader, platform, wheel] = names;
    Arch {
        goarch,
        variant,
        rust,
        machine,
        class,
        triplet,
        musl,
        glibc_loader,
        platform,
        wheel,
    }
}

/// `EM_LOONGARCH` (goblin does not name it).
const EM_LOONGARCH: u16 = 258;

/// Every architecture, the default variant of each GOARCH last among its rows.
pub const ARCHES: &[Arch] = &[
    row(
        "amd64",
        None,
        "x86_64",
        header::EM_X86_64,
        64,
        [
            "x86_64-linux-gnu",
            "x86_64",
            "ld-linux-x86-64.so.2",
            "x86_64",
            "x86_64",
        ],
    ),
    row(
        "arm64",
        None,
        "aarch64",
        header::EM_AARCH64,
        64,
        [
            "aarch64-linux-gnu",
            "aarch64",
            "ld-linux-aarch64.so.1",
            "aarch64",
            "aarch64",
        ],
    ),
    row(
        "386",
        None,
        "x86",
        header::EM_386,
        32,
        ["i386-linux-gnu", "i386", "ld-linux.so.2", "i686", "i686"],
    ),
    row(
        "arm",
        Some("v5"),
        "arm",
        header::EM_ARM,
        32,
        [
            "arm-linux-gnueabi",
            "arm",
            "ld-linux.so.3",
            "v5l",
            "armv5tel",
        ],
    ),
    row(
        "arm",
        Some("v6"),
        "arm",
        header::EM_ARM,
        32,
        [
            "arm-linux-gnueabihf",
            "armhf",
            "ld-linux-armhf.so.3",
            "v6l",
            "armv6l",
        ],
    ),
    row(
        "arm",
        None,
        "arm",
        header::EM_ARM,
        32,
        [
            "arm-linux-gnueabihf",
            "armhf",
            "ld-linux-armhf.so.3",
            "v7l",
            "armv7l",
        ],
    ),
    row(
        "ppc64le",
        None,
        "powerpc64",
        header::EM_PPC64,
        64,
        [
            "powerpc64le-linux-gnu",
            "powerpc64le",
            "ld64.so.2",
            "power8",
            "ppc64le",
        ],
    ),
    row(
        "s390x",
        None,
        "s390x",
        header::EM_S390,
        64,
        ["s390x-linux-gnu", "s390x", "ld64.so.1", "z196", "s390x"],
    ),
    row(
        "riscv64",
        None,
        "riscv64",
        header::EM_RISCV,
        64,
        [
            "riscv64-linux-gnu",
            "riscv64",
            "ld-linux-riscv64-lp64d.so.1",
            "riscv64",
            "riscv64",
        ],
    ),
    row(
        "mips64le",
        None,
        "mips64",
        header::EM_MIPS,
        64,
        [
            "mips64el-linux-gnuabi64",
            "mips64el",
            "ld.so.1",
            "mips64",
            "mips64el",
        ],
    ),
    row(
        "loong64",
        None,
        "loongarch64",
        EM_LOONGARCH,
        64,
        [
            "loongarch64-linux-gnu",
            "loongarch64",
            "ld-linux-loongarch-lp64d.so.1",
            "loongarch64",
            "loongarch64",
        ],
    ),
];

impl Arch {
    /// The row for an image config's `architecture` and `variant`: the variant's own row when
    /// it has one, else the GOARCH's default.
    pub fn of(goarch: &str, variant: Option<&str>) -> Option<&'static Arch> {
        let mut rows = ARCHES.iter().filter(|a| a.goarch == goarch);
        let rows_again = rows.clone();
        rows.find(|a| a.variant.is_some() && a.variant == variant)
            .or_else(|| rows_again.into_iter().find(|a| a.variant.is_none()))
    }

    /// The architecture this program runs on.
    pub fn host() -> Option<&'static Arch> {
        ARCHES
            .iter()
            .find(|a| a.rust == std::env::consts::ARCH && a.variant.is_none())
    }

    /// The musl loader's path, relative to `/`: `lib/ld-musl-x86_64.so.1`.
    pub fn musl_loader(&self) -> String {
        format!("lib/ld-musl-{}.so.1", self.musl)
    }

    /// The soname musl's libc goes by in Alpine's packages: `libc.musl-x86_64.so.1`.
    pub fn musl_libc(&self) -> String {
        format!("libc.musl-{}.so.1", self.musl)
    }
}

/// A readable name for an ELF `e_machine`.
pub fn machine_name(machine: u16) -> String {
    match machine {
        header::EM_X86_64 => "x86-64".into(),
        header::EM_AARCH64 => "aarch64".into(),
        header::EM_386 => "i386".into(),
        header::EM_ARM => "arm".into(),
        header::EM_PPC64 => "ppc64".into(),
        header::EM_S390 => "s390x".into(),
        header::EM_RISCV => "riscv".into(),
        header::EM_MIPS => "mips".into(),
        EM_LOONGARCH => "loongarch".into(),
        other => format!("machine {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_pick_their_row_and_fall_back_to_the_default() {
        let v7 = Arch::of("arm", Some("v7")).unwrap();
        assert_eq!((v7.triplet, v7.wheel), ("arm-linux-gnueabihf", "armv7l"));
        assert_eq!(Arch::of("arm", Some("v6")).unwrap().wheel, "armv6l");
        assert_eq!(
            Arch::of("arm", Some("v5")).unwrap().triplet,
            "arm-linux-gnueabi"
        );
        assert_eq!(Arch::of("arm", None).unwrap().wheel, "armv7l");
        let arm64 = Arch::of("arm64", Some("v8")).unwrap();
        assert_eq!(arm64.musl_loader(), "lib/ld-musl-aarch64.so.1");
        assert_eq!(arm64.glibc_loader, "ld-linux-aarch64.so.1");
        assert_eq!(Arch::of("sparc", None), None);
    }

    #[test]
    fn every_goarch_has_a_default_row_and_the_host_is_known() {
        for a in ARCHES {
            assert!(Arch::of(a.goarch, None).is_some(), "{}", a.goarch);
        }
        assert!(Arch::host().is_some());
    }
}
