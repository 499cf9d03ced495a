//! Resolving a program's loader and shared libraries inside an image root (`verify --root`),
//! exactly as that root's dynamic loader would, without running anything.
//!
//! glibc (`elf/dl-load.c`, `_dl_map_object`), for each DT_NEEDED name of an object: a name with
//! a `/` is a path; a name an already loaded object answers to (its SONAME or the name it was
//! loaded by; the loader itself by its SONAME and PT_INTERP path) is that object; else
//! 1. DT_RPATH of the requesting object, then of the object that loaded it, and so on up to the
//!    executable (an object with DT_RUNPATH has no DT_RPATH), only when the requesting object
//!    has no DT_RUNPATH;
//! 2. `LD_LIBRARY_PATH` (`--env`, or an image's `Env`);
//! 3. DT_RUNPATH of the requesting object only;
//! 4. the root's `/etc/ld.so.cache` (see [`ldcache`]; never `/etc/ld.so.conf`);
//! 5. the loader's default directories (see [`loader`]).
//!
//! Steps 4 and 5 are skipped for a requester with DF_1_NODEFLIB (`ld -z nodefaultlib`).
//! `$ORIGIN` is the requesting object's directory (the program's real location; the loader
//! reads it from `/proc/self/exe`, which every container runtime mounts), `$LIB` and
//! `$PLATFORM` as
//! [`loader`] says; an element whose `$ORIGIN` cannot be known is dropped, as glibc drops it.
//! An empty or relative element is taken from the working directory (`/` unless given). A
//! candidate of another ELF class or machine is skipped and the search goes on; any other
//! unloadable candidate (not ELF, another byte order, an OS/ABI other than SYSV or GNU, not a
//! shared object, a PIE) stops the program, as it stops the loader. glibc also tries
//! `glibc-hwcaps` and legacy hardware subdirectories of each directory, which depend on the CPU
//! that runs the program: binslim looks only in the directory itself, so a library found
//! nowhere else is reported missing rather than assumed.
//!
//! Each DT_VERNEED entry of the program and of every loaded library must be defined by the
//! DT_VERDEF of the library it names (weak references excepted; a library without DT_VERDEF
//! satisfies everything, as in `_dl_check_map_versions`).
//!
//! musl (`ldso/dynlink.c`, `load_library`): `libc.*`, `libpthread.*`, `librt.*`, `libm.*`,
//! `libdl.*`, `libutil.*`, `libxnet.*` and the loader's own name are the loader itself; else
//! `LD_LIBRARY_PATH`, then the RPATH or RUNPATH (RUNPATH wins; only `$ORIGIN` is expanded, and
//! one with any other `$` is ignored) of the requester and of each object up the chain that
//! loaded it, then the musl path file or its defaults. The first file that exists is used,
//! loadable or not. musl checks no symbol versions.
//!
//! Breadth-first, as both loaders load. Absolute symlinks are resolved inside the root.

pub mod ldcache;
pub mod loader;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::elf::dynamic::{DynamicTable, dynamic_table};
use crate::elf::versions::{SymbolVersions, symbol_versions};
use crate::elf::{ElfFile, machine_name};
use crate::input::Input;

use goblin::elf::dynamic::{
    DF_1_NODEFLIB, DF_1_PIE, DT_FLAGS_1, DT_NEEDED, DT_RPATH, DT_RUNPATH, DT_SONAME,
};

/// What the loader sees of the process: its environment and working directory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResolveOptions {
    /// `LD_LIBRARY_PATH` as the program will see it (`--env`, or an image's `Env`).
    pub ld_library_path: Option<String>,
    /// The working directory the program starts in (an image's `WorkingDir`): empty and
    /// relative search path elements are taken from it. Default `/`.
    pub working_dir: String,
    /// Facts of the root already read, shared by every resolution given a clone of it.
    pub facts: RootFacts,
    /// How messages name the root: `None` gives its path (`--root ./rootfs`); an image's
    /// merged layers, whose temporary directory the user never sees, are `the image`.
    pub root_name: Option<String>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            ld_library_path: None,
            working_dir: "/".into(),
            facts: RootFacts::default(),
            root_name: None,
        }
    }
}

/// What a glibc loader in a root searches, whatever program it loads: its default
/// directories, the root's `/etc/ld.so.cache` and the directories `/etc/ld.so.conf` names.
#[derive(Debug)]
struct GlibcFacts {
    default_dirs: Vec<String>,
    source: loader::DirsSource,
    cache: Option<Vec<ldcache::CacheEntry>>,
    conf_dirs: Vec<String>,
}

/// The program-independent facts of roots, read once per (root, loader, machine, class) and
/// shared by the clones of one value: a `verify --root` walk resolves hundreds of programs
/// against the same loader and cache, and reading them (the loader is 200 KiB) for each was
/// most of the walk's I/O.
#[derive(Debug, Clone, Default)]
pub struct RootFacts(Arc<Mutex<GlibcFactsMap>>);

type GlibcFactsMap = HashMap<(PathBuf, Option<String>, String, &'static str), Arc<GlibcFacts>>;

impl RootFacts {
    fn glibc(
        &self,
        root: &Path,
        loader_real: Option<&str>,
        machine: &str,
        class: &'static str,
    ) -> Arc<GlibcFacts> {
        let key = (
            root.to_path_buf(),
            loader_real.map(str::to_string),
            machine.to_string(),
            class,
        );
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let facts = map.entry(key).or_insert_with(|| {
            let (default_dirs, source) = loader::glibc_dirs(root, loader_real, machine, class);
            let cache = resolve_in_root(root, "/etc/ld.so.cache")
                .and_then(|p| fs::read(p).ok())
                .and_then(|d| ldcache::parse(&d));
            let mut conf_dirs = Vec::new();
            read_ld_so_conf(
                root,
                "/etc/ld.so.conf",
                &mut conf_dirs,
                &mut BTreeSet::new(),
            );
            Arc::new(GlibcFacts {
                default_dirs,
                source,
                cache,
                conf_dirs,
            })
        });
        Arc::clone(facts)
    }
}

/// How a library was found: which step of the loader's search gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundVia {
    /// DT_RPATH (of the requester or an object up its loading chain).
    Rpath,
    /// `LD_LIBRARY_PATH`.
    LdLibraryPath,
    /// DT_RUNPATH of the requester.
    Runpath,
    /// The root's `/etc/ld.so.cache`.
    Cache,
    /// The loader's default directories (or musl's path file).
    Default,
    /// The DT_NEEDED name contains a `/`: it is a path.
    Path,
    /// The loader itself answers to the name (glibc's `ld-linux-*.so.2` SONAME, musl's
    /// `libc.so` and friends).
    Loader,
}

impl FoundVia {
    /// The name used in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            FoundVia::Rpath => "rpath",
            FoundVia::LdLibraryPath => "ld_library_path",
            FoundVia::Runpath => "runpath",
            FoundVia::Cache => "cache",
            FoundVia::Default => "default",
            FoundVia::Path => "path",
            FoundVia::Loader => "loader",
        }
    }
}

/// One DT_NEEDED library of the program or of a library it loads, once (in load order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Library {
    /// The name as DT_NEEDED gives it.
    pub name: String,
    /// The root-absolute path the loader opens (before symlinks), `None` when not found.
    pub path: Option<String>,
    /// The search step that found it, `None` when not found.
    pub found_via: Option<FoundVia>,
    /// Versions that objects need from this library and its DT_VERDEF lacks (weak ones
    /// excepted), sorted.
    pub missing_versions: Vec<String>,
    /// The root-absolute path of the object that first needed it.
    #[serde(skip)]
    pub needed_by: String,
}

/// Versions one object needs from one library that the library does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingVersions {
    /// The library as named (`libc.so.6`).
    pub library: String,
    /// The root-absolute path of the object that needs the versions (the program or a library).
    pub needed_by: String,
    /// The missing version names, in the needer's order.
    pub missing: Vec<String>,
    /// Every version the library defines.
    pub defined: Vec<String>,
}

/// A library the search found but the loader cannot load: the start fails there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLibrary {
    /// The library as named.
    pub name: String,
    /// The root-absolute path found.
    pub path: String,
    /// The object that needs it.
    pub needed_by: String,
    /// Why the loader refuses it (the loader's own words where it has them).
    pub reason: String,
}

/// Which [`ResolveWarning`] it is (verify reports it under the code of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningCode {
    /// `unknown-loader-dirs`: the loader's default directories cannot be told.
    UnknownLoaderDirs,
    /// `ld-so-conf-without-cache`: `/etc/ld.so.conf` names directories no cache lists.
    LdSoConfWithoutCache,
}

/// Something about the root that the verdict does not rest on but the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveWarning {
    /// Stable identifier.
    pub code: WarningCode,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// What a program finds, and lacks, to start inside a root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The interpreter (PT_INTERP), when it does not exist in the root.
    pub missing_interpreter: Option<String>,
    /// The interpreter's real root-absolute path (symlinks followed), when it exists.
    pub interpreter_path: Option<String>,
    /// Why the interpreter that exists cannot start the program (another machine or class,
    /// not ELF).
    pub bad_interpreter: Option<String>,
    /// `(library, needed by)` pairs that resolve nowhere in the root, in load order (`needed
    /// by` is the needer's file name).
    pub missing_libraries: Vec<(String, String)>,
    /// Libraries found, as the root-absolute paths the loader opens, in load order (the loader
    /// itself excluded: see `interpreter_path`).
    pub found: Vec<String>,
    /// Every library name, found or not, in load order.
    pub libraries: Vec<Library>,
    /// Libraries found but unloadable.
    pub bad_libraries: Vec<BadLibrary>,
    /// Symbol versions needed and not defined.
    pub missing_versions: Vec<MissingVersions>,
    /// Warnings (for example `/etc/ld.so.conf` without a cache).
    pub warnings: Vec<ResolveWarning>,
    /// The loader's default directories, as used.
    pub default_dirs: Vec<String>,
}

/// One loaded object, as far as resolution cares.
#[derive(Debug, Clone)]
struct Object {
    /// Root-absolute path as opened.
    path: String,
    /// `$ORIGIN`: the directory of `path` (for the program, its real location).
    origin: String,
    needed: Vec<String>,
    soname: Option<String>,
    rpath: Option<String>,
    runpath: Option<String>,
    flags_1: u64,
    versions: SymbolVersions,
    /// Index of the object that loaded it (None for the program and the loader).
    loaded_by: Option<usize>,
    /// Library names this object's DT_NEEDED resolved to: name -> object index.
    deps: HashMap<String, usize>,
}

impl Object {
    fn read(elf: &ElfFile<'_>, path: String, loaded_by: Option<usize>) -> Self {
        let table = dynamic_table(elf).unwrap_or_default();
        let strings = |t: &DynamicTable<'_>, tag: u64| -> Vec<String> {
            t.entries
                .iter()
                .filter(|(x, _)| *x == tag)
                .filter_map(|&(_, v)| t.string(v))
                .collect()
        };
        let runpath = table
            .get(DT_RUNPATH)
            .map(|v| table.string(v).unwrap_or_default());
        // An object with DT_RUNPATH has no DT_RPATH for glibc (get-dynamic-info.h).
        let rpath = table
            .get(DT_RPATH)
            .map(|v| table.string(v).unwrap_or_default());
        Object {
            origin: parent(&path),
            path,
            needed: strings(&table, DT_NEEDED),
            soname: table.get(DT_SONAME).and_then(|v| table.string(v)),
            rpath,
            runpath,
            flags_1: table.get(DT_FLAGS_1).unwrap_or(0),
            versions: symbol_versions(elf, &table),
            loaded_by,
            deps: HashMap::new(),
        }
    }
}

/// The loader family, with what it searches on its own.
#[derive(Debug, Clone)]
enum Family {
    Glibc {
        facts: Arc<GlibcFacts>,
        lib: Option<String>,
        flags: &'static [i32],
    },
    Musl {
        dirs: Vec<String>,
    },
}

/// The outcome of searching for one name.
enum Search {
    /// The path as found, how, and the file (mapped once: probed, then parsed).
    Found(String, FoundVia, Input),
    Bad(String, String),
    Missing,
}

/// What the program's ELF header says a library must match.
#[derive(Debug, Clone, Copy)]
struct Ident {
    class: u8,
    data: u8,
    machine: u16,
}

/// The outcome of looking at one candidate file.
enum Probe {
    /// No such file in the root.
    Absent,
    /// Another class or machine: glibc skips it and searches on.
    OtherKind,
    /// The loader stops here with this reason.
    Bad(String),
    /// Loadable; the opened file.
    Ok(Input),
}

/// Resolves `program` (located at `program_path` inside `root`, a root-absolute path such as
/// `/server`) against `root`: the loader, every library (transitively, each under its own
/// rules), and every symbol version. See the module documentation for the rules.
pub fn resolve(
    root: &Path,
    program: &ElfFile<'_>,
    program_path: &str,
    opts: &ResolveOptions,
) -> Resolution {
    let mut r = Resolver::new(root, program, program_path, opts);
    r.load_all();
    r.check_versions();
    r.conf_warnings();
    r.res.default_dirs = match &r.family {
        Family::Glibc { facts, .. } => facts.default_dirs.clone(),
        Family::Musl { dirs } => dirs.clone(),
    };
    r.res
}

struct Resolver<'r> {
    root: &'r Path,
    opts: &'r ResolveOptions,
    ident: Ident,
    machine: String,
    interp: Option<String>,
    family: Family,
    objects: Vec<Object>,
    /// Names (DT_NEEDED names, SONAMEs, paths) an already loaded object answers to.
    names: HashMap<String, usize>,
    loader: Option<usize>,
    res: Resolution,
}

impl<'r> Resolver<'r> {
    /// Records a library the search reached but the loader cannot load: the start stops there.
    fn unloadable(&mut self, name: String, path: String, needer: String, reason: String) {
        self.res.libraries.push(Library {
            name: name.clone(),
            path: Some(path.clone()),
            found_via: None,
            missing_versions: Vec::new(),
            needed_by: needer.clone(),
        });
        self.res.bad_libraries.push(BadLibrary {
            name,
            path,
            needed_by: needer,
            reason,
        });
    }

    fn new(
        root: &'r Path,
        program: &ElfFile<'_>,
        program_path: &str,
        opts: &'r ResolveOptions,
    ) -> Self {
        let h = &program.header;
        let ident = Ident {
            class: h.e_ident[goblin::elf::header::EI_CLASS],
            data: h.e_ident[goblin::elf::header::EI_DATA],
            machine: h.e_machine,
        };
        let machine = machine_name(h.e_machine, program.is_64(), program.is_little_endian());
        let class = if program.is_64() { "elf64" } else { "elf32" };
        let interp = crate::elf::dynamic::interpreter(program);
        let mut main = Object::read(program, program_path.to_string(), None);
        main.origin = parent(program_path);
        let mut r = Resolver {
            root,
            opts,
            ident,
            machine: machine.clone(),
            interp: interp.clone(),
            family: Family::Musl { dirs: Vec::new() },
            objects: vec![main],
            names: HashMap::new(),
            loader: None,
            res: Resolution::default(),
        };
        let real = interp.as_deref().and_then(|i| real_path_in_root(root, i));
        if let Some(i) = &interp {
            match &real {
                None => r.res.missing_interpreter = Some(i.clone()),
                Some(real) => {
                    r.res.interpreter_path = Some(real.clone());
                    r.load_interpreter(i, real);
                }
            }
        }
        let musl = interp.as_deref().is_some_and(|i| i.contains("ld-musl"));
        r.family = if musl {
            let (dirs, _) = loader::musl_dirs(root, interp.as_deref().unwrap_or(""), &machine);
            Family::Musl { dirs }
        } else {
            let facts = opts.facts.glibc(root, real.as_deref(), &machine, class);
            if facts.source == loader::DirsSource::Unknown && real.is_some() {
                r.res.warnings.push(ResolveWarning {
                    code: WarningCode::UnknownLoaderDirs,
                    message: format!(
                        "cannot tell the default library directories of the loader {}: only \
                         RPATH, LD_LIBRARY_PATH, RUNPATH and /etc/ld.so.cache are searched",
                        real.as_deref().unwrap_or_default()
                    ),
                    hint: "use the loader of a Debian/Ubuntu (/lib/<triplet>) or Fedora (/lib64) \
                           layout, or give libraries an RPATH"
                        .into(),
                });
            }
            let lib = facts
                .default_dirs
                .first()
                .map(|d| d.trim_matches('/').to_string())
                .filter(|d| !d.is_empty());
            Family::Glibc {
                facts,
                lib,
                flags: ldcache::accepted_flags(&machine, class),
            }
        };
        r
    }

    /// The kernel starts the interpreter only when it is ELF of the program's machine (else
    /// execve fails with ELIBBAD, "Accessing a corrupted shared library").
    fn load_interpreter(&mut self, name: &str, real: &str) {
        let host = resolve_in_root(self.root, real).unwrap_or_default();
        let reason = match Input::open(&host) {
            Err(e) => Some(e.to_string()),
            Ok(input) => match ElfFile::parse(input.bytes()) {
                Err(e) => Some(format!("is not a loader: {e}")),
                Ok(elf) => {
                    let h = &elf.header;
                    let class = h.e_ident[goblin::elf::header::EI_CLASS];
                    let data = h.e_ident[goblin::elf::header::EI_DATA];
                    let ok_type = matches!(
                        h.e_type,
                        goblin::elf::header::ET_DYN | goblin::elf::header::ET_EXEC
                    );
                    if class != self.ident.class
                        || data != self.ident.data
                        || h.e_machine != self.ident.machine
                    {
                        Some(format!(
                            "is built for {} ({}), but the program is {} ({})",
                            machine_name(h.e_machine, elf.is_64(), elf.is_little_endian()),
                            if elf.is_64() { "elf64" } else { "elf32" },
                            self.machine,
                            if self.ident.class == 2 {
                                "elf64"
                            } else {
                                "elf32"
                            },
                        ))
                    } else if !ok_type {
                        Some("is not an executable or shared object".into())
                    } else {
                        let o = Object::read(&elf, name.to_string(), None);
                        let idx = self.objects.len();
                        self.names.insert(name.to_string(), idx);
                        if let Some(s) = &o.soname {
                            self.names.insert(s.clone(), idx);
                        }
                        self.objects.push(o);
                        self.loader = Some(idx);
                        None
                    }
                }
            },
        };
        self.res.bad_interpreter = reason;
    }

    fn is_musl(&self) -> bool {
        matches!(self.family, Family::Musl { .. })
    }

    /// Breadth-first over DT_NEEDED, as both loaders load.
    fn load_all(&mut self) {
        let mut queue: VecDeque<usize> = VecDeque::from([0]);
        let mut failed: BTreeSet<String> = BTreeSet::new();
        while let Some(i) = queue.pop_front() {
            for name in self.objects[i].needed.clone() {
                if let Some(&j) = self.names.get(&name) {
                    self.objects[i].deps.insert(name.clone(), j);
                    let listed = self.res.libraries.iter().any(|l| l.name == name);
                    if Some(j) == self.loader && !listed {
                        self.res.libraries.push(Library {
                            name,
                            path: self.interp.clone(),
                            found_via: Some(FoundVia::Loader),
                            missing_versions: Vec::new(),
                            needed_by: self.objects[i].path.clone(),
                        });
                    }
                    continue;
                }
                if failed.contains(&name) {
                    continue;
                }
                // The loader's own name, when the loader is missing or unusable: that problem
                // is already reported, and nothing else answers to the name.
                if self.loader.is_none()
                    && self.interp.as_deref().map(file_name).as_deref() == Some(name.as_str())
                {
                    continue;
                }
                if self.is_musl() && self.musl_self(&name) {
                    self.answer_with_loader(i, &name);
                    continue;
                }
                let needer = self.objects[i].path.clone();
                let outcome = if self.is_musl() {
                    self.search_musl(i, &name)
                } else {
                    self.search_glibc(i, &name)
                };
                match outcome {
                    Search::Found(path, via, input) => {
                        let loaded = self.load_library(&path, &input, i);
                        // _dl_map_object_from_fd refuses a PIE (DF_1_PIE) as a dependency.
                        if loaded.is_some_and(|idx| self.objects[idx].flags_1 & DF_1_PIE != 0) {
                            self.objects.pop();
                            failed.insert(name.clone());
                            let reason = "cannot dynamically load position-independent executable";
                            self.unloadable(name, path, needer, reason.into());
                            continue;
                        }
                        let Some(idx) = loaded else {
                            failed.insert(name.clone());
                            self.unloadable(name, path, needer, "cannot be read".into());
                            continue;
                        };
                        self.names.insert(name.clone(), idx);
                        self.names.insert(path.clone(), idx);
                        if let Some(s) = self.objects[idx].soname.clone() {
                            self.names.entry(s).or_insert(idx);
                        }
                        self.objects[i].deps.insert(name.clone(), idx);
                        self.res.found.push(path.clone());
                        self.res.libraries.push(Library {
                            name,
                            path: Some(path),
                            found_via: Some(via),
                            missing_versions: Vec::new(),
                            needed_by: needer,
                        });
                        queue.push_back(idx);
                    }
                    Search::Bad(path, reason) => {
                        failed.insert(name.clone());
                        self.unloadable(name, path, needer, reason);
                    }
                    Search::Missing => {
                        failed.insert(name.clone());
                        self.res
                            .missing_libraries
                            .push((name.clone(), file_name(&needer)));
                        self.res.libraries.push(Library {
                            name,
                            path: None,
                            found_via: None,
                            missing_versions: Vec::new(),
                            needed_by: needer,
                        });
                    }
                }
            }
        }
    }

    fn load_library(&mut self, path: &str, input: &Input, loaded_by: usize) -> Option<usize> {
        let elf = ElfFile::parse(input.bytes()).ok()?;
        let o = Object::read(&elf, path.to_string(), Some(loaded_by));
        self.objects.push(o);
        Some(self.objects.len() - 1)
    }

    /// musl answers these names with itself (`load_library`'s reserved list), and its own name.
    fn musl_self(&self, name: &str) -> bool {
        const RESERVED: [&str; 7] = ["c.", "pthread.", "rt.", "m.", "dl.", "util.", "xnet."];
        let reserved = name
            .strip_prefix("lib")
            .is_some_and(|rest| RESERVED.iter().any(|r| rest.starts_with(r)));
        reserved || self.interp.as_deref() == Some(name)
    }

    fn answer_with_loader(&mut self, i: usize, name: &str) {
        let Some(interp) = self.interp.clone() else {
            return;
        };
        if let Some(l) = self.loader {
            self.objects[i].deps.insert(name.to_string(), l);
        }
        self.names
            .insert(name.to_string(), self.loader.unwrap_or(usize::MAX));
        if self.res.missing_interpreter.is_none() {
            self.res.libraries.push(Library {
                name: name.to_string(),
                path: Some(interp),
                found_via: Some(FoundVia::Loader),
                missing_versions: Vec::new(),
                needed_by: self.objects[i].path.clone(),
            });
        }
    }

    /// glibc's `_dl_map_object` search for `name` needed by object `i`.
    fn search_glibc(&self, i: usize, name: &str) -> Search {
        if name.contains('/') {
            let path = self.absolute(name);
            return match self.probe(&path) {
                Probe::Ok(input) => Search::Found(path, FoundVia::Path, input),
                Probe::Bad(why) => Search::Bad(path, why),
                Probe::Absent | Probe::OtherKind => Search::Missing,
            };
        }
        let obj = &self.objects[i];
        let mut steps: Vec<(Vec<String>, FoundVia)> = Vec::new();
        if obj.runpath.is_none() {
            let mut did_main = false;
            let mut l = Some(i);
            while let Some(k) = l {
                let o = &self.objects[k];
                if o.runpath.is_none()
                    && let Some(rp) = &o.rpath
                {
                    steps.push((self.expand_glibc(rp, ":", &o.origin), FoundVia::Rpath));
                }
                did_main |= k == 0;
                l = o.loaded_by;
            }
            let main = &self.objects[0];
            if !did_main
                && main.runpath.is_none()
                && let Some(rp) = &main.rpath
            {
                steps.push((self.expand_glibc(rp, ":", &main.origin), FoundVia::Rpath));
            }
        }
        if let Some(llp) = &self.opts.ld_library_path {
            let origin = &self.objects[0].origin;
            steps.push((
                self.expand_glibc(llp, ":;", origin),
                FoundVia::LdLibraryPath,
            ));
        }
        if let Some(rp) = &obj.runpath {
            steps.push((self.expand_glibc(rp, ":", &obj.origin), FoundVia::Runpath));
        }
        for (dirs, via) in steps {
            for d in dirs {
                let path = join(&d, name);
                match self.probe(&path) {
                    Probe::Ok(input) => return Search::Found(path, via, input),
                    Probe::Bad(why) => return Search::Bad(path, why),
                    Probe::Absent | Probe::OtherKind => {}
                }
            }
        }
        let Family::Glibc { facts, flags, .. } = &self.family else {
            return Search::Missing;
        };
        let (default_dirs, cache) = (&facts.default_dirs, &facts.cache);
        let nodeflib = obj.flags_1 & DF_1_NODEFLIB != 0;
        if let Some(path) = cache
            .as_deref()
            .and_then(|c| ldcache::lookup(c, name, flags))
            .filter(|p| !(nodeflib && default_dirs.iter().any(|d| p.starts_with(d.as_str()))))
        {
            match self.probe(path) {
                Probe::Ok(input) => return Search::Found(path.to_string(), FoundVia::Cache, input),
                Probe::Bad(why) => return Search::Bad(path.to_string(), why),
                Probe::Absent | Probe::OtherKind => {}
            }
        }
        if !nodeflib {
            for d in default_dirs {
                let path = join(d, name);
                match self.probe(&path) {
                    Probe::Ok(input) => return Search::Found(path, FoundVia::Default, input),
                    Probe::Bad(why) => return Search::Bad(path, why),
                    Probe::Absent | Probe::OtherKind => {}
                }
            }
        }
        Search::Missing
    }

    /// musl's `load_library` search: the first file that exists is the one.
    fn search_musl(&self, i: usize, name: &str) -> Search {
        let take = |path: String, via: FoundVia| -> Option<Search> {
            match self.probe(&path) {
                Probe::Absent => None,
                Probe::Ok(input) => Some(Search::Found(path, via, input)),
                Probe::OtherKind => Some(Search::Bad(path, "Exec format error".into())),
                Probe::Bad(why) => Some(Search::Bad(path, why)),
            }
        };
        if name.contains('/') {
            let path = self.absolute(name);
            return take(path, FoundVia::Path).unwrap_or(Search::Missing);
        }
        let split = |s: &str| -> Vec<String> {
            s.split([':', '\n'])
                .filter(|d| !d.is_empty())
                .map(String::from)
                .collect()
        };
        let mut steps: Vec<(Vec<String>, FoundVia)> = Vec::new();
        if let Some(llp) = &self.opts.ld_library_path {
            steps.push((split(llp), FoundVia::LdLibraryPath));
        }
        let mut l = Some(i);
        while let Some(k) = l {
            let o = &self.objects[k];
            let (rp, via) = match (&o.runpath, &o.rpath) {
                (Some(rp), _) => (rp, FoundVia::Runpath),
                (None, Some(rp)) => (rp, FoundVia::Rpath),
                (None, None) => {
                    l = o.loaded_by;
                    continue;
                }
            };
            // fixup_rpath: only $ORIGIN / ${ORIGIN}; any other `$` drops the whole list.
            let others = rp
                .replace("${ORIGIN}", "")
                .replace("$ORIGIN", "")
                .contains('$');
            if !others {
                let origin = o.origin.trim_end_matches('/');
                let expanded = rp.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
                steps.push((split(&expanded), via));
            }
            l = o.loaded_by;
        }
        if let Family::Musl { dirs } = &self.family {
            steps.push((dirs.clone(), FoundVia::Default));
        }
        for (dirs, via) in steps {
            for d in dirs {
                let path = format!("{}/{name}", self.absolute(&d));
                if let Some(s) = take(path, via) {
                    return s;
                }
            }
        }
        Search::Missing
    }

    /// A relative path taken from the working directory (an empty one is the directory).
    fn absolute(&self, p: &str) -> String {
        if p.starts_with('/') {
            p.to_string()
        } else if p.is_empty() {
            self.opts.working_dir.clone()
        } else {
            format!("{}/{p}", self.opts.working_dir.trim_end_matches('/'))
        }
    }

    /// glibc's `fillin_rpath` + `expand_dynamic_string_token`: split, expand `$ORIGIN`,
    /// `$LIB` and `$PLATFORM` (braced or not), drop an element that cannot be expanded.
    fn expand_glibc(&self, list: &str, seps: &str, origin: &str) -> Vec<String> {
        let lib = match &self.family {
            Family::Glibc { lib, .. } => lib.clone(),
            Family::Musl { .. } => None,
        };
        let platform = loader::platform(&self.machine);
        let origin = origin.trim_end_matches('/');
        let mut out = Vec::new();
        for el in list.split(|c| seps.contains(c)) {
            let mut e = el.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
            e = e
                .replace("${PLATFORM}", platform)
                .replace("$PLATFORM", platform);
            if e.contains("$LIB") || e.contains("${LIB}") {
                let Some(lib) = &lib else { continue };
                e = e.replace("${LIB}", lib).replace("$LIB", lib);
            }
            let e = self.absolute(&e);
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    /// glibc's `open_verify` on one candidate (musl reads the same header facts).
    fn probe(&self, path: &str) -> Probe {
        use goblin::elf::header::{EI_OSABI, EI_VERSION, ET_DYN, ET_EXEC};
        let Some(host) = resolve_in_root(self.root, path) else {
            return Probe::Absent;
        };
        // Opened (mapped) once: the header is checked here, the file parsed when loaded.
        let input = match Input::open(&host) {
            Ok(input) => input,
            // open() of a directory succeeds in the loader; its read() fails.
            Err(crate::error::Error::IsDirectory) => {
                return Probe::Bad("cannot read file data: Is a directory".into());
            }
            Err(e) => return Probe::Bad(format!("cannot read file data: {e}")),
        };
        let head = &input.bytes()[..input.bytes().len().min(64)];
        let n = head.len();
        // glibc compares the length with its own ELF header size before anything else.
        let ehsize = if self.ident.class == 2 { 64 } else { 52 };
        if n < ehsize {
            return Probe::Bad("file too short".into());
        }
        if head[..4] != *b"\x7fELF" {
            return Probe::Bad("invalid ELF header".into());
        }
        if head[4] != self.ident.class {
            return Probe::OtherKind;
        }
        if head[5] != self.ident.data {
            let order = if self.ident.data == 1 {
                "little"
            } else {
                "big"
            };
            return Probe::Bad(format!("ELF file data encoding not {order}-endian"));
        }
        if head[EI_VERSION] != 1 {
            return Probe::Bad("ELF file version ident does not match current one".into());
        }
        if !matches!(head[EI_OSABI], 0 | 3) {
            return Probe::Bad("ELF file OS ABI invalid".into());
        }
        let little = self.ident.data == 1;
        let rd16 = |at: usize| crate::elf::file::read_uint(head, at, 2, little).unwrap_or(0) as u16;
        if rd16(18) != self.ident.machine {
            return Probe::OtherKind;
        }
        match rd16(16) {
            ET_DYN => Probe::Ok(input),
            ET_EXEC => Probe::Bad("cannot dynamically load executable".into()),
            _ => Probe::Bad("only ET_DYN and ET_EXEC can be loaded".into()),
        }
    }

    /// `_dl_check_map_versions` for every loaded object (glibc only: musl checks none).
    fn check_versions(&mut self) {
        if self.is_musl() {
            return;
        }
        let mut problems = Vec::new();
        for obj in &self.objects {
            for need in &obj.versions.needed {
                let Some(&j) = obj
                    .deps
                    .get(&need.file)
                    .or_else(|| self.names.get(&need.file))
                else {
                    continue;
                };
                let Some(lib) = self.objects.get(j) else {
                    continue;
                };
                if !lib.versions.has_verdef {
                    continue;
                }
                let missing: Vec<String> = need
                    .versions
                    .iter()
                    .filter(|v| !v.weak && !lib.versions.defined.contains(&v.name))
                    .map(|v| v.name.clone())
                    .collect();
                if !missing.is_empty() {
                    problems.push(MissingVersions {
                        library: need.file.clone(),
                        needed_by: obj.path.clone(),
                        missing,
                        defined: lib.versions.defined.clone(),
                    });
                }
            }
        }
        for p in &problems {
            let entry = self
                .res
                .libraries
                .iter_mut()
                .find(|l| l.name == p.library)
                .or(None);
            if let Some(entry) = entry {
                for m in &p.missing {
                    if !entry.missing_versions.contains(m) {
                        entry.missing_versions.push(m.clone());
                    }
                }
                entry.missing_versions.sort();
            }
        }
        self.res.missing_versions = problems;
    }

    /// `/etc/ld.so.conf` is read by `ldconfig`, never by the loader: directories it names count
    /// only through a cache that lists their libraries.
    fn conf_warnings(&mut self) {
        let Family::Glibc { facts, .. } = &self.family else {
            return;
        };
        let (default_dirs, cache) = (&facts.default_dirs, &facts.cache);
        let dirs = facts.conf_dirs.clone();
        let norm = |d: &str| format!("{}/", d.trim_end_matches('/'));
        let mut extra: Vec<String> = Vec::new();
        for d in dirs {
            if !default_dirs.contains(&norm(&d)) && !extra.contains(&d) {
                extra.push(d);
            }
        }
        if extra.is_empty() {
            return;
        }
        let root = match &self.opts.root_name {
            Some(name) => name.clone(),
            None => self.root.display().to_string(),
        };
        let hint = format!(
            "run ldconfig -r {root} to build /etc/ld.so.cache (in a Dockerfile: RUN ldconfig in \
             a stage that has it, then COPY the cache)"
        );
        if cache.is_none() {
            self.res.warnings.push(ResolveWarning {
                code: WarningCode::LdSoConfWithoutCache,
                message: format!(
                    "/etc/ld.so.conf names {}, but {root} has no /etc/ld.so.cache: the loader \
                     never reads ld.so.conf, only the cache ldconfig builds from it, so it does \
                     not search there",
                    extra.join(", ")
                ),
                hint,
            });
            return;
        }
        for (lib, _) in &self.res.missing_libraries {
            if let Some(d) = extra
                .iter()
                .find(|d| resolve_in_root(self.root, &join(d, lib)).is_some())
            {
                self.res.warnings.push(ResolveWarning {
                    code: WarningCode::LdSoConfWithoutCache,
                    message: format!(
                        "{lib} is in {d}, which /etc/ld.so.conf names, but /etc/ld.so.cache does \
                         not list it: the loader reads only the cache"
                    ),
                    hint: hint.clone(),
                });
            }
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

fn parent(p: &str) -> String {
    match p.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => p[..i].to_string(),
    }
}

fn file_name(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_string()
}

fn read_ld_so_conf(
    root: &Path,
    conf: &str,
    dirs: &mut Vec<String>,
    visited: &mut BTreeSet<String>,
) {
    if !visited.insert(conf.to_string()) || visited.len() > 256 {
        return;
    }
    let Some(text) = resolve_in_root(root, conf).and_then(|p| fs::read_to_string(p).ok()) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include") {
            for pat in pattern.split_whitespace() {
                let pat = if pat.starts_with('/') {
                    pat.to_string()
                } else {
                    format!("{}/{pat}", parent(conf))
                };
                for file in glob_in_root(root, &pat) {
                    read_ld_so_conf(root, &file, dirs, visited);
                }
            }
        } else {
            dirs.extend(
                line.split([':', ',', ' ', '\t'])
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
    }
}

/// Expands a `dir/prefix*suffix` pattern (the form ld.so.conf uses) inside the root, sorted.
fn glob_in_root(root: &Path, pattern: &str) -> Vec<String> {
    let dir = parent(pattern);
    let name_pat = file_name(pattern);
    let Some(real_dir) = resolve_in_root(root, &dir) else {
        return Vec::new();
    };
    let (pre, suf) = name_pat.split_once('*').unwrap_or((&name_pat, ""));
    let exact = !name_pat.contains('*');
    let mut out: Vec<String> = fs::read_dir(real_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            if exact {
                *n == name_pat
            } else {
                n.starts_with(pre) && n.ends_with(suf)
            }
        })
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect();
    out.sort();
    out
}

/// Maps a root-absolute path to a host path inside `root`, following symlinks (absolute ones
/// relative to the root, `..` never above it). `None` when it does not exist.
pub fn resolve_in_root(root: &Path, path: &str) -> Option<PathBuf> {
    let real = real_path_in_root(root, path)?;
    Some(host_path(root, &components(&real)))
}

/// The real root-absolute path of `path` inside `root` (every symlink followed inside the root),
/// `None` when it does not exist.
pub fn real_path_in_root(root: &Path, path: &str) -> Option<String> {
    let mut parts: VecDeque<String> = components(path).into();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = parts.pop_front() {
        match part.as_str() {
            ".." => {
                cur.pop();
                continue;
            }
            "." => continue,
            _ => {}
        }
        cur.push(part);
        let host = host_path(root, &cur);
        let meta = fs::symlink_metadata(&host).ok()?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = fs::read_link(&host).ok()?;
            let target = target.to_string_lossy().into_owned();
            cur.pop();
            if target.starts_with('/') {
                cur.clear();
            }
            let mut new: VecDeque<String> = components(&target).into();
            new.extend(parts.drain(..));
            parts = new;
        }
    }
    let host = host_path(root, &cur);
    host.exists().then(|| format!("/{}", cur.join("/")))
}

fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

fn host_path(root: &Path, parts: &[String]) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_paths() {
        assert_eq!(parent("/server"), "/");
        assert_eq!(parent("/app/bin/server"), "/app/bin");
        assert_eq!(file_name("/app/bin/server"), "server");
    }

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("lib/x86_64-linux-gnu")).unwrap();
        fs::create_dir_all(root.join("lib64")).unwrap();
        fs::write(root.join("lib/x86_64-linux-gnu/ld.so"), b"x").unwrap();
        std::os::unix::fs::symlink("/lib/x86_64-linux-gnu/ld.so", root.join("lib64/ld.so"))
            .unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.join("lib/up")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(
            resolve_in_root(root, "/lib64/ld.so"),
            Some(root.join("lib/x86_64-linux-gnu/ld.so"))
        );
        // `..` never leaves the root: /lib/up points at <root>/etc, which does not exist.
        assert_eq!(resolve_in_root(root, "/lib/up/passwd"), None);
        assert_eq!(resolve_in_root(root, "/loop"), None);
        assert_eq!(resolve_in_root(root, "/nope"), None);
    }
}
