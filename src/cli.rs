//! Command-line syntax: clap derive types, turned into library options by `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Binary minimizer and static-link verifier for FROM scratch images";

const LONG_ABOUT: &str = "\
binslim tells whether a binary will start in an empty (FROM scratch) container image, why it is \
as big as it is, and makes it smaller. It reads ELF headers and never executes the file it checks.";

const EXAMPLES: &str = "\
Examples:
  binslim inspect ./server                 what it is, what it needs, where the bytes go
  binslim verify ./server                  will it start in FROM scratch? (exit 0 / 1)
  binslim shrink --upx ./server            strip and pack in place, with a size ledger
  binslim inspect --json ./server | jq .   JSON for scripts
  binslim inspect --packages ./server      which packages, crates or functions cost the bytes
  binslim diff --max-growth 5% old new     what grew; exit 1 past the size budget (CI)
  binslim sbom ./server > server.spdx.json an SBOM (SPDX or CycloneDX) from the binary itself

Exit status: 0 success, 1 a checked file fails the policy (diff: NEW grew past --max-growth), \
2 a file could not be analyzed (or a usage error).";

/// binslim's command line.
#[derive(Debug, Parser)]
#[command(name = "binslim", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// The verb.
    #[command(subcommand)]
    pub command: Command,

    /// When to colour text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report what ELF files are, what they need at run time and where their bytes go.
    #[command(after_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// Check that programs will start in a FROM scratch image (or in --root); the Dockerfile gate.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Strip what a program never loads, optionally pack it with upx, and show what each step
    /// saved on disk and on the wire.
    #[command(after_help = SHRINK_EXAMPLES)]
    Shrink(ShrinkArgs),
    /// Build a FROM scratch image (docker or OCI archive) holding the program and the run-time
    /// files it needs, without a container engine.
    #[command(after_help = IMAGE_EXAMPLES)]
    Image(Box<ImageArgs>),
    /// Write an SBOM (SPDX 2.3 or CycloneDX 1.6 JSON) of programs from what they record: Go
    /// modules, cargo-auditable crates, and with --with-libs the libraries and their packages.
    #[command(after_help = SBOM_EXAMPLES)]
    Sbom(SbomArgs),
    /// Show what grew or shrank between two builds (file, gzip, categories, sections, packages)
    /// and fail when NEW grew more than a budget: the CI size gate.
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Push an image (docker-archive, oci-archive, OCI layout or a tar on stdin) to a registry,
    /// its index and digests kept, without a container engine.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print binslim's man page (roff, every verb and flag on one page) to stdout.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  binslim verify ./server                        will it start in FROM scratch?
  binslim verify --platform linux/arm64 ./server  also check the architecture
  binslim verify --platform linux/amd64/v2 ./server
                                                 and the CPU level (fails a GOAMD64=v3 build)
  binslim verify --root ./rootfs ./app           against a real image root (distroless, alpine)
  binslim verify --strict --max-size 20MiB --require-stripped /out
  binslim verify --root ./rootfs --env LD_LIBRARY_PATH=/app/lib --verbose ./rootfs/app/server
                                                 as the loader will search, showing each library
  binslim verify --image app.tar                 the image's entrypoint, in its merged layers
  docker save app | binslim verify --image -     the CI gate on what ships
  binslim verify --image app.tar --verify-digests   also hash every byte of every layer
  binslim verify --image docker://registry.example/app:1.2   what the registry holds
  binslim verify --image docker://127.0.0.1:5000/app --insecure --platform linux/arm64
                                                 a local plain-HTTP registry, one platform
  In a Dockerfile:  RUN [\"/binslim\", \"verify\", \"/server\"]

Exit status: 0 every checked program will start, 1 at least one will not (or breaks a policy \
flag), 2 a named path could not be analyzed or the command line is wrong.";

/// `binslim verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files, or directories to walk recursively (non-ELF files in them are skipped). With
    /// --image: programs inside the image to check instead of its entrypoint.
    #[arg(required_unless_present = "image", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Target platform, e.g. linux/amd64, linux/arm64, linux/arm/v7 (default: $TARGETPLATFORM,
    /// with $TARGETVARIANT, when set, else no check). A variant (linux/amd64/v2, linux/arm/v6,
    /// linux/arm64/v8.2) also fails programs that record a higher CPU level (GOAMD64=v3,
    /// GOARM=7, gcc -march=... -Wl,-z,x86-64-v3); programs that record none pass.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,

    /// Check against this image root instead of an empty one: the loader and every library must
    /// resolve inside it.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Turn warnings into failures; fail libraries and objects found in directories too.
    #[arg(long)]
    pub strict: bool,

    /// Fail files larger than SIZE (e.g. 20MiB, 5MB, 1048576).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// Fail files that still have debug data or a symbol table.
    #[arg(long)]
    pub require_stripped: bool,

    /// Fail UPX-packed files.
    #[arg(long)]
    pub forbid_upx: bool,

    /// Print only failures (and errors).
    #[arg(long, short)]
    pub quiet: bool,

    /// Print a JSON array with one object per checked file.
    #[arg(long)]
    pub json: bool,

    /// An environment variable the program will start with, as K=V (repeatable). With --root,
    /// LD_LIBRARY_PATH is searched as the loader searches it; other variables are accepted and
    /// ignored.
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<(String, String)>,

    /// With --root: print where each library was found (and how), and the loader's path. With
    /// --image docker://: also say on stderr what was downloaded.
    #[arg(long, short)]
    pub verbose: bool,

    /// Check an image instead of files: a docker-archive or oci-archive tar (docker save,
    /// podman save), an OCI layout directory, - for a tar on stdin, or docker://REF for an
    /// image in a registry (HOST[:PORT]/REPO[:TAG][@sha256:...]; credentials from podman's and
    /// docker's auth files). Its entrypoint (or each PATH in it) is checked against the merged
    /// layers, with the image's platform and Env.
    #[arg(long, value_name = "IMAGE", conflicts_with = "root")]
    pub image: Option<String>,

    /// With --image docker://: allow plain HTTP and TLS without certificate verification (a
    /// local registry).
    #[arg(long, requires = "image")]
    pub insecure: bool,

    /// With --image: also read every byte of uncompressed layers and check their sha256
    /// against the manifest and the config's diff_ids, as docker load and skopeo copy do. By
    /// default their payload is skipped (index, manifests, config and gzip layers are always
    /// checked).
    #[arg(long, requires = "image")]
    pub verify_digests: bool,
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not K=V (e.g. LD_LIBRARY_PATH=/app/lib)")),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("'{s}' is not a size like 20MiB: {e}"))
}

const SHRINK_EXAMPLES: &str = "\
Examples:
  binslim shrink ./server                       strip in place, print the size ledger
  binslim shrink ./server -o ./server.small     leave ./server as it is
  binslim shrink --upx --smoke '--version' ./server
  binslim shrink --upx --upx-args '--best --lzma' ./server   smaller, slower to start
  binslim shrink --keep-debug ./server.debug ./server   debug data kept aside for gdb
  binslim shrink --wire both ./server           wire sizes for gzip -6 and zstd -3 layers

Exit status: 0 done (also when upx declined to pack), 1 upx failed or a --smoke run differed \
(the stripped file is still written unless the smoke run of it differed), 2 a file could not be \
shrunk or the command line is wrong.

In place, FILE keeps its owner, mode (set-id bits too), extended attributes (file capabilities \
included) and hard links; with one link it is replaced atomically (temporary file, fsync, \
rename).";

/// `binslim shrink`.
#[derive(Debug, Args)]
pub struct ShrinkArgs {
    /// ELF executables or shared libraries, replaced in place unless -o is given.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write the result to OUT and leave FILE untouched (one FILE only).
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Replace OUT (-o) or the --keep-debug FILE when it already exists (both are refused
    /// otherwise, before anything is written).
    #[arg(long)]
    pub force: bool,

    /// Pack the stripped result with upx.
    #[arg(long)]
    pub upx: bool,

    /// The upx executable to use (implies --upx; default: upx on PATH).
    #[arg(long, value_name = "PATH")]
    pub upx_path: Option<PathBuf>,

    /// Extra options for upx, e.g. "--best --lzma" (implies --upx).
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub upx_args: Option<String>,

    /// Write the removed debug data to FILE (mode 0644, written atomically; an existing FILE
    /// only with --force) and link it from the result (.gnu_debuglink).
    #[arg(long, value_name = "FILE")]
    pub keep_debug: Option<PathBuf>,

    /// Keep an existing .gnu_debuglink section (the default).
    #[arg(long, overrides_with = "remove_debuglink")]
    pub keep_debuglink: bool,

    /// Remove an existing .gnu_debuglink section.
    #[arg(long, overrides_with = "keep_debuglink")]
    pub remove_debuglink: bool,

    /// Start the original and the result with ARGS, compare exit status and output, and show
    /// start-up time and peak memory of each.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub smoke: Option<String>,

    /// Seconds each --smoke run may take.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub smoke_timeout: u64,

    /// Do not measure gzip (wire) sizes: faster on large files.
    #[arg(long, conflicts_with = "wire")]
    pub no_gzip: bool,

    /// Which wire sizes the ledger shows: gzip (level 6, the default), zstd (level 3, what
    /// `zstd -3 -c FILE | wc -c` prints; JSON gains zstd_size and original_zstd_size) or both.
    #[arg(long, value_enum, default_value = "gzip")]
    pub wire: Wire,

    /// Print JSON: one object for one FILE, an array for several.
    #[arg(long)]
    pub json: bool,
}

const INSPECT_EXAMPLES: &str = "\
Examples:
  binslim inspect ./server
  binslim inspect --sections ./server        list every section too
  binslim inspect --json ./a ./b            one JSON array, one object per file
  binslim inspect --packages ./server        which packages, crates or functions hold .text
  binslim inspect --packages --top 50 --json ./server | jq '.[0].packages'
  binslim inspect --treemap size.svg ./server   also draw where the bytes go (or size.html)

Exit status: 0 every file analyzed, 2 at least one could not be (each failure is one line on \
stderr).";

/// `binslim inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// ELF files to inspect.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print a JSON array with one object per FILE.
    #[arg(long)]
    pub json: bool,

    /// List every section with its size and category.
    #[arg(long)]
    pub sections: bool,

    /// Attribute .text to Go packages (from pclntab, stripped files too), Rust crates (from
    /// .symtab) or C/C++ functions (from .symtab); the rows' code plus the unattributed row
    /// sum to .text. JSON objects gain "packages" (every row) and "package_notes".
    #[arg(long)]
    pub packages: bool,

    /// With --packages: how many rows the text table shows (the rest are summed in one row;
    /// JSON always has every row).
    #[arg(long, value_name = "N", default_value_t = binslim::packages::DEFAULT_TOP, requires = "packages")]
    pub top: usize,
    /// Also draw FILE's bytes as a treemap (categories, with the packages inside code) to OUT:
    /// an SVG image for .svg, an HTML page for .html. Self-contained (no scripts, nothing
    /// fetched), names and sizes on hover. Boxes are bytes in the file, so bss (memory only)
    /// is not drawn; the caption names it. One FILE only; OUT is replaced atomically.
    #[arg(long, value_name = "OUT.svg|OUT.html", value_parser = parse_treemap)]
    pub treemap: Option<PathBuf>,
}

fn parse_treemap(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    match binslim::report::treemap::TreemapFormat::from_path(&p) {
        Some(_) => Ok(p),
        None => Err(format!(
            "'{s}' does not end in .svg or .html: the extension chooses the format \
             (e.g. --treemap size.svg)"
        )),
    }
}

const IMAGE_EXAMPLES: &str = "\
Examples:
  binslim image ./server -o server.tar && docker load -i server.tar
  binslim image ./server -o server.tar --tag ghcr.io/me/server:1.2 --arg --port=8080
  binslim image ./app -o app.tar --with-libs            a dynamic program with its loader and libraries
  binslim image ./server -o oci --format oci-dir         an OCI layout for skopeo or umoci
  binslim image amd64/server arm64/server -o server.tar --format oci
                                                        one multi-platform image (an OCI index)
  binslim image ./server -o s.tar --expose 8080 --workdir /data --cmd --port=8080
  binslim image ./server -o s.tar --stop-signal SIGINT  what `docker stop` sends (default SIGTERM)
  binslim image ./server -o s.tar --label team=infra --annotation com.example.ticket=42
  binslim image ./server -o server.tar --shrink --upx   shrink a copy first, ledger included
  binslim image ./server --push registry.example.com/team/server:1.2
                                                        build and push, no engine, no tar
  binslim image amd64/server arm64/server --push localhost:5000/server:1 --insecure
                                                        a multi-platform image to a local registry
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) binslim image ./server -o server.tar
  binslim image ./server -o oci --format oci-dir --sbom cyclonedx
                                                        attach a CycloneDX SBOM (default: SPDX)
  binslim image --from fat.tar -o slim.tar            the entrypoint of a fat image, FROM scratch
  binslim image --from fat.tar /app/server -o slim.tar --keep '/app/templates/*'

SBOM: by default the image carries an SPDX SBOM of what it holds (the programs' Go modules or \
cargo-auditable crates, and with --with-libs the loader and libraries with their dpkg \
packages) as an OCI artifact that refers to it: listed in index.json without a name (oci-dir, \
docker) and, with --push, pushed as a referrer (the referrers API, else the tag \
sha256-<digest>). The image's digest is the same with --sbom none. An oci-archive (--format \
oci) cannot list it: podman load refuses an archive with two manifests.

Run-time files: /etc/passwd and /etc/group (root, nonroot 65532) and /tmp (1777) always; the CA \
bundle, /usr/share/zoneinfo and /etc/nsswitch.conf when the program reads them (Go: from its \
function names). The same inputs give byte-identical output.

Several programs make one OCI image index with a manifest per platform (taken from each ELF: \
architecture, and the variant from its CPU level); every option applies to each. They need \
--format oci or oci-dir (docker load cannot read an index) and one program per platform. A Go \
program built with VCS information gets the annotations org.opencontainers.image.revision, \
.created (vcs.time, or SOURCE_DATE_EPOCH when set) and .source (for github.com, gitlab.com and \
bitbucket.org module paths), unless --annotation gives them; the index carries those all \
programs agree on.

Exit status: 0 written (and pushed), 1 the program would not start in the image (nothing written \
or pushed), 2 a bad option, an unreadable input, a failed write or a failed push (the step that \
failed is named: ping, authentication, blob upload, manifest).";

const SBOM_EXAMPLES: &str = "\
Examples:
  binslim sbom ./server > server.spdx.json              SPDX 2.3 (Go modules, crates, the file)
  binslim sbom --format cyclonedx ./server -o server.cdx.json
  binslim sbom --with-libs ./app                        also the loader and libraries from /, with
                                                        their Debian packages (dpkg database)
  binslim sbom --with-libs --root ./rootfs ./rootfs/app  libraries from another root
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) binslim sbom ./a ./b   one document for both

What goes in: the program file and its SHA-256; Go: the main module, every dependency (a replaced \
one as its replacement, the go.sum hash as a SHA256 checksum), the standard library \
(pkg:golang/stdlib@1.23.4 for go1.23.4) and the build settings; Rust: the crates and edges of \
cargo-auditable data (`cargo auditable build`), else the rustc version and a note; DT_NEEDED.

Same inputs, same bytes: the SPDX documentNamespace is \
https://binslim.invalid/spdx/NAMES-HASH and the CycloneDX serialNumber a UUID made from HASH, the \
SHA-256 of binslim's version and each described file's path and SHA-256. The creation time is \
--created, else SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00Z; --created now takes the clock.

Exit status: 0 written, 2 an unreadable or non-ELF program, damaged cargo-auditable data, a bad \
option or a failed write.";

/// `binslim sbom`.
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// The programs (ELF files) to describe, all in one document.
    #[arg(required = true, value_name = "PROGRAM")]
    pub programs: Vec<PathBuf>,

    /// The document format.
    #[arg(long, value_enum, default_value_t = SbomFormat::Spdx)]
    pub format: SbomFormat,

    /// Write the document to FILE (through a temporary file, renamed) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also describe the loader and every library the programs load, resolved as
    /// `binslim image --with-libs` resolves them, each with its SHA-256 and, from a dpkg
    /// database in the root, its Debian package.
    #[arg(long)]
    pub with_libs: bool,

    /// The root the libraries come from (default /).
    #[arg(long, value_name = "DIR", requires = "with_libs")]
    pub root: Option<PathBuf>,

    /// The document's creation time: seconds since 1970, or `now` (default: SOURCE_DATE_EPOCH,
    /// else 0, so that the same inputs give the same bytes).
    #[arg(long, value_name = "SECONDS|now")]
    pub created: Option<String>,
}

/// `binslim sbom --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// SPDX 2.3 JSON.
    Spdx,
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
}

/// `binslim image`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("push_or_from").args(["push", "from"]).multiple(true))]
pub struct ImageArgs {
    /// The program (an ELF executable). Several, one per platform (e.g. an amd64 and an arm64
    /// build), make one multi-platform image: an OCI image index (--format oci or oci-dir).
    /// With --from: at most one, the program's PATH inside the source image (default: its
    /// entrypoint).
    #[arg(value_name = "PROGRAM", required_unless_present = "from", num_args = 1..)]
    pub programs: Vec<PathBuf>,

    /// Slim a fat image: take the program, and only what it needs, from this image
    /// (docker-archive, oci-archive, OCI layout directory, or - for a tar on stdin) into a
    /// FROM scratch image. Its config (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts,
    /// Labels, StopSignal) carries over; the options here override it.
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,

    /// With --from: also keep this file, directory or glob of the source (repeatable), for
    /// data the program reads at run time.
    #[arg(long, value_name = "PATH", requires = "from")]
    pub keep: Vec<String>,

    /// With --from and --shrink: strip the bundled libraries too (default: untouched).
    #[arg(long, requires = "from")]
    pub shrink_libs: bool,

    /// Where to write the image (a tar, or a directory for --format oci-dir). Optional with
    /// --push; both may be given.
    #[arg(short, long, value_name = "OUT", required_unless_present = "push")]
    pub output: Option<PathBuf>,

    /// The form of OUT: docker (the default): a tar for docker load / podman load (also an OCI
    /// layout); oci: an oci-archive tar; oci-dir: an OCI layout directory. A push sends the
    /// OCI form whatever OUT is.
    #[arg(long, value_enum, requires = "output")]
    pub format: Option<ImageFormat>,

    /// How the layer is compressed: gzip (level 6, what every engine reads) or zstd (level 3,
    /// single-threaded, reproducible; application/vnd.oci.image.layer.v1.tar+zstd, read by
    /// podman and containerd; podman load also takes it in a docker-archive).
    #[arg(long, value_enum, default_value = "gzip")]
    pub compression: LayerCompression,

    /// Push the image to a registry, HOST[:PORT]/REPO[:TAG] (credentials as podman and docker
    /// keep them: REGISTRY_AUTH_FILE, auth.json, ~/.docker/config.json, credential helpers),
    /// and print REPO@sha256:..., the digest a pull by digest takes.
    #[arg(long, value_name = "REF")]
    pub push: Option<String>,

    /// With --push (or --from docker://REF): allow plain HTTP and TLS without a trusted
    /// certificate (a local registry).
    #[arg(long, requires = "push_or_from")]
    pub insecure: bool,

    /// With --push: another repository of the same registry to mount missing blobs from
    /// instead of uploading them (repeatable).
    #[arg(long, value_name = "REPO", requires = "push")]
    pub mount_from: Vec<String>,

    /// The image reference NAME[:TAG] (default: the file name, tag latest; for programs with
    /// different file names, the file name of --path).
    #[arg(long, value_name = "NAME[:TAG]")]
    pub tag: Option<String>,

    /// The program's path in the image (default: / + its file name). Needed when several
    /// programs have different file names: every platform's image has the program there.
    #[arg(long, value_name = "/PATH")]
    pub path: Option<String>,

    /// An argument after the program in the entrypoint (repeatable).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub args: Vec<String>,

    /// A default argument after the entrypoint, the config's Cmd (repeatable): what
    /// `docker run IMAGE ARGS...` replaces.
    #[arg(long = "cmd", value_name = "ARG", allow_hyphen_values = true)]
    pub cmd: Vec<String>,

    /// An environment variable KEY=VALUE (repeatable; PATH is set by default).
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// A label KEY=VALUE of the image config (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,

    /// An annotation KEY=VALUE of the manifest, and of the index for several programs
    /// (repeatable). Replaces the org.opencontainers.image.revision, .created and .source that
    /// binslim fills from a Go program's VCS build information.
    #[arg(long = "annotation", value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,

    /// The working directory of the program (absolute; default /). Made in the image when
    /// missing, as WORKDIR does.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// A port the program listens on, PORT[/tcp|/udp] (repeatable; default tcp).
    #[arg(long, value_name = "PORT[/PROTO]")]
    pub expose: Vec<String>,

    /// The signal that stops the program, the config's StopSignal: a name or number, e.g.
    /// SIGINT or 2 (default: none, the engine sends SIGTERM; with --from, the source's).
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,

    /// Who the program runs as: root, nonroot (65532:65532), UID or UID:GID (default:
    /// nonroot; with --from, the source's User).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Add a file or directory (recursively) from SRC at DEST in the image (repeatable). Files
    /// keep their mode. An --add onto the program or a file --with-libs bundles is refused.
    #[arg(long, value_name = "SRC:DEST")]
    pub add: Vec<String>,

    /// Let --add replace the files binslim writes (/etc/passwd, /etc/group,
    /// /etc/nsswitch.conf) instead of refusing.
    #[arg(long)]
    pub replace: bool,

    /// The CA bundle at /etc/ssl/certs/ca-certificates.crt: auto (when the program loads system
    /// roots), yes, no, or a FILE to copy.
    #[arg(long, value_name = "auto|yes|no|FILE", default_value = "auto")]
    pub ca_certs: String,

    /// Time zones at /usr/share/zoneinfo: auto (when the program loads them), yes, no, or a DIR.
    #[arg(long, value_name = "auto|yes|no|DIR", default_value = "auto")]
    pub tzdata: String,

    /// Bundle a dynamic program's loader and shared libraries, resolved as the loader would.
    #[arg(long)]
    pub with_libs: bool,

    /// Resolve --with-libs libraries in this root instead of /.
    #[arg(long, value_name = "DIR", requires = "with_libs")]
    pub root: Option<PathBuf>,

    /// Shrink a copy of the program first (strip); the input is untouched.
    #[arg(long)]
    pub shrink: bool,

    /// Also pack the shrunk copy with upx (implies --shrink).
    #[arg(long)]
    pub upx: bool,

    /// The SBOM of what the image holds, attached as an OCI artifact that refers to it:
    /// spdx, cyclonedx or none.
    #[arg(long, value_enum, value_name = "spdx|cyclonedx|none", default_value_t = ImageSbom::Spdx)]
    pub sbom: ImageSbom,

    /// Replace OUT when it exists.
    #[arg(long)]
    pub force: bool,

    /// Print JSON: {"image": {...}, "steps": [...]}.
    #[arg(long)]
    pub json: bool,
}

/// `--sbom` of `binslim image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageSbom {
    /// SPDX 2.3 JSON (`application/spdx+json`).
    Spdx,
    /// CycloneDX 1.6 JSON (`application/vnd.cyclonedx+json`).
    Cyclonedx,
    /// No SBOM.
    None,
}

/// `--wire` of `binslim shrink`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Wire {
    /// gzip -6 sizes.
    Gzip,
    /// zstd -3 sizes (no gzip).
    Zstd,
    /// Both.
    Both,
}

/// `--compression` of `binslim image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayerCompression {
    /// gzip, level 6.
    Gzip,
    /// zstd, level 3.
    Zstd,
}

/// `--format` of `binslim image`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    /// docker-archive tar that is also an OCI layout (docker save since Docker 25).
    Docker,
    /// oci-archive tar.
    Oci,
    /// OCI layout directory.
    OciDir,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  binslim diff ./server.old ./server                 what changed, largest change first
  binslim diff --max-growth 5% main/server pr/server   the CI size budget (exit 1 past it)
  binslim diff --max-growth 200KB --json old new | jq '.packages[:5]'

--max-growth is measured on the file size: NEW fails when its file is more than SIZE bytes \
(200KB = 200,000; 1MiB = 1,048,576; 4096) or more than PCT percent of OLD's file larger than \
OLD. Growth of exactly the budget passes; shrinking always passes. Package rows are Go packages, \
Rust crates or C/C++ functions (code + data, see inspect --packages).

Exit status: 0 NEW is within the budget (or no budget given), 1 NEW grew more than the budget, \
2 a bad budget, a file that could not be read or analyzed, or another usage error.";

/// `binslim diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old build (the baseline).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The new build.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Fail (exit 1) when NEW's file is larger than OLD's by more than SIZE or PCT of OLD
    /// (5%, 200KB, 1MiB).
    #[arg(long, value_name = "SIZE|PCT", value_parser = parse_budget, allow_hyphen_values = true)]
    pub max_growth: Option<binslim::diff::Budget>,

    /// How many changed package rows the text shows (the rest are summed in one line).
    #[arg(long, value_name = "N", default_value_t = binslim::packages::DEFAULT_TOP)]
    pub top: usize,

    /// Print JSON: {"old", "new", "file_size", "gzip_size", "categories", "sections",
    /// "packages"}, every row included.
    #[arg(long)]
    pub json: bool,
}

fn parse_budget(s: &str) -> Result<binslim::diff::Budget, String> {
    s.parse()
        .map_err(|e: binslim::diff::BudgetError| e.to_string())
}

const PUSH_EXAMPLES: &str = "\
Examples:
  binslim push app.tar registry.example.com/team/app:1.2
  binslim verify --image app.tar && binslim push app.tar registry.example.com/team/app:1.2
                                                 the gate-then-ship pair
  docker save app | binslim push - registry.example.com/team/app:1.2
  binslim push ./oci-layout localhost:5000/app:dev --insecure
                                                 a local registry over plain HTTP
  binslim push --json app.tar registry.example.com/team/app:1.2 | jq -r .push.digest
  binslim push app.tar registry.example.com/team/app-canary:1.2 --mount-from team/app
                                                 blobs team/app has are mounted, not sent

IMAGE is a docker-archive tar (docker save, podman save; old and new layouts), an oci-archive \
tar, an OCI layout directory, a dir: layout (podman save --format docker-dir), or - for a tar on \
standard input. An image with an index is pushed with it (every platform), and every digest is \
kept: the pushed digest is the source's (for an old docker-archive, the one skopeo inspect \
reports). Blobs the repository already has are not uploaded again. Credentials come from the \
files docker and podman write ($REGISTRY_AUTH_FILE, ~/.docker/config.json, credential helpers) \
and never appear in output.

Exit status: 0 pushed, 2 an unreadable image, a reference that does not parse, or a failed step \
(ping, auth, blob upload, manifest; named in the message).";

/// `binslim push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image: a docker-archive or oci-archive tar, an OCI layout or dir: layout directory,
    /// or - for a tar on standard input.
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,

    /// Where to push: HOST[:PORT]/REPO[:TAG] or HOST[:PORT]/REPO@sha256:DIGEST (tag latest when
    /// neither is given).
    #[arg(value_name = "REF")]
    pub reference: String,

    /// Allow plain HTTP and TLS certificates that do not verify (for a local registry).
    #[arg(long)]
    pub insecure: bool,

    /// Another repository of the same registry that may hold some of the blobs (repeatable):
    /// a blob REF's repository lacks is mounted from it, not uploaded, when the registry can.
    #[arg(long, value_name = "REPO")]
    pub mount_from: Vec<String>,

    /// Print JSON: {"push": {"ref", "digest", "blobs", "manifests"}}.
    #[arg(long)]
    pub json: bool,
}
const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  source <(binslim completions bash)             this shell, now
  binslim completions bash > /usr/share/bash-completion/completions/binslim
  binslim completions zsh > \"${fpath[1]}/_binslim\"
  binslim completions fish > ~/.config/fish/completions/binslim.fish

The script is generated from this binslim's own command line, so it always matches its verbs \
and flags.";

/// `binslim completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

const MAN_EXAMPLES: &str = "\
Examples:
  binslim man | man -l -                         read it now
  binslim man > /usr/local/share/man/man1/binslim.1";

/// `binslim man`.
#[derive(Debug, Args)]
pub struct ManArgs {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
