//! Reading the configuration at start: the command line (as redis-server takes it), the
//! config file with `include`, stdin, and the FATAL errors Redis prints for bad input.

use std::fmt;
use std::path::{Path, PathBuf};

use super::grammar::{glob_match, push_repr, split_args, trim_line};
use super::table::{self, Spec, CONFIGS, MULTI_ARG};
use super::value::{self, SetCtx, Value};
use crate::VERSION;

/// How deep `include` may nest (Redis has no limit and overflows its stack).
const MAX_INCLUDE_DEPTH: usize = 32;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cli {
    /// Print the version line and exit 0.
    Version,
    /// Print the usage text to stderr and exit 1.
    Help,
    /// `--test-memory`: not offered by this server.
    TestMemory,
    /// `--check-system`: not offered by this server (its checks are about fork and THP).
    CheckSystem,
    /// `--sentinel` (or a `sentinel` argument): not offered by this server.
    Sentinel,
    /// Run with this configuration.
    Run(Startup),
}

/// The configuration sources named on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    /// The config file, made absolute.
    pub config_file: Option<PathBuf>,
    /// `-` was given: read more configuration from stdin.
    pub from_stdin: bool,
    /// `--name value` options turned into config lines (parsed after file and stdin).
    pub options: Option<Vec<u8>>,
}

/// Interprets redis-server's command line (without the program name).
pub fn parse_cli(args: &[String], cwd: &Path) -> Cli {
    let Some(first) = args.first() else {
        return Cli::Run(Startup::default());
    };
    match first.as_str() {
        "-v" | "--version" => return Cli::Version,
        "--help" | "-h" => return Cli::Help,
        "--test-memory" => return Cli::TestMemory,
        "--check-system" => return Cli::CheckSystem,
        _ => {}
    }
    if args.iter().any(|a| a == "--sentinel") {
        return Cli::Sentinel;
    }
    let mut startup = Startup::default();
    let mut j = 0;
    if !first.starts_with('-') {
        startup.config_file = Some(absolute(cwd, Path::new(first)));
        j = 1;
    }
    let last = args.len() - 1;
    let mut options: Vec<u8> = Vec::new();
    let mut handled_last = true;
    while let Some(arg) = args.get(j) {
        let a = arg.as_bytes();
        if a == b"-" && (j == 0 || j == last) {
            startup.from_stdin = true;
        } else if handled_last && a.starts_with(b"--") {
            if !options.is_empty() {
                options.push(b'\n');
            }
            options.extend_from_slice(&a[2..]);
            options.push(b' ');
            let words = split_args(a).map_or(0, |w| w.len());
            if words == 1 {
                handled_last = false;
                let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
                if arg.eq_ignore_ascii_case("--save") && (next_is_option || j == last) {
                    // `--save` with no value means `save ""` (redis-server keeps this for
                    // scripts that build the command line from an empty list).
                    options.extend_from_slice(b"\"\"");
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
        } else {
            push_repr(&mut options, a);
            options.push(b' ');
            handled_last = true;
        }
        j += 1;
    }
    startup.options = Some(options);
    Cli::Run(startup)
}

/// Redis's `getAbsolutePath`: relative paths are taken from the working directory.
fn absolute(cwd: &Path, p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in cwd.join(p).components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Why the server cannot start with this configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// Printed as Redis's `*** FATAL CONFIG FILE ERROR ***` block on stderr, exit code 1.
    Fatal {
        /// Line number (1-based, within its file) and the trimmed line, when there is one.
        line: Option<(usize, Vec<u8>)>,
        /// The reason, Redis's text.
        msg: String,
    },
    /// A config file (or include) cannot be read; logged as a warning, exit code 1.
    CantOpen {
        /// The path as given.
        path: String,
        /// strerror text.
        reason: String,
    },
}

impl fmt::Display for LoadError {
    /// The exact text Redis prints (the FATAL block starts with an empty line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Fatal { line, msg } => {
                writeln!(f)?;
                writeln!(f, "*** FATAL CONFIG FILE ERROR (Redis {VERSION}) ***")?;
                if let Some((n, text)) = line {
                    writeln!(f, "Reading the configuration file, at line {n}")?;
                    writeln!(f, ">>> '{}'", String::from_utf8_lossy(text))?;
                }
                writeln!(f, "{msg}")
            }
            LoadError::CantOpen { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
        }
    }
}

/// The outcome of reading the configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// One value per entry of [`CONFIGS`].
    pub values: Vec<Value>,
    /// Which directives the configuration mentioned.
    pub present: Vec<bool>,
    /// Messages to log once logging is up (directives accepted but not acted on).
    pub notes: Vec<String>,
    /// `loadmodule` paths (this server cannot load modules: start-up fails like Redis's
    /// does for a module that does not load).
    pub modules: Vec<Vec<u8>>,
    /// `name.with.dot value` module configuration lines.
    pub module_configs: usize,
    /// The command names after `rename-command` lines (None when there are none).
    pub command_names: Option<super::CommandNames>,
}

/// Reads configuration text into values.
#[derive(Debug)]
pub struct Loader {
    loaded: Loaded,
    ctx: SetCtx,
    depth: usize,
}

impl Loader {
    /// Starts from the defaults. `cwd` is the working directory (the default `dir`); `chdir`
    /// says whether `dir` really changes it (the server) or is only recorded (tests).
    pub fn new(cwd: &Path, chdir: bool) -> Loader {
        Loader {
            loaded: Loaded {
                values: CONFIGS
                    .iter()
                    .map(|s| value::default_value(s, cwd))
                    .collect(),
                present: vec![false; CONFIGS.len()],
                notes: Vec::new(),
                modules: Vec::new(),
                module_configs: 0,
                command_names: None,
            },
            ctx: SetCtx {
                reading_file: true,
                save_loaded: false,
                chdir,
            },
            depth: 0,
        }
    }

    /// Loads the sources of `startup`, as redis-server does: file, then stdin, then options.
    pub fn load_startup(
        mut self,
        startup: &Startup,
        stdin: &mut dyn std::io::Read,
    ) -> Result<Loaded, LoadError> {
        let mut text = Vec::new();
        if let Some(path) = &startup.config_file {
            text = read_config_file(path)?;
        }
        if startup.from_stdin {
            crate::logging::log(3, "Reading config from stdin");
            let mut more = Vec::new();
            // A read error ends the input, as fgets() would.
            let _ = stdin.read_to_end(&mut more);
            text.extend_from_slice(&more);
        }
        if let Some(options) = &startup.options {
            text.push(b'\n');
            text.extend_from_slice(options);
        }
        self.load_str(&text)?;
        Ok(self.loaded)
    }

    /// Loads configuration text (what a config file holds).
    pub fn load_str(&mut self, text: &[u8]) -> Result<(), LoadError> {
        let fatal = |n: usize, line: &[u8], msg: String| LoadError::Fatal {
            line: Some((n, line.to_vec())),
            msg,
        };
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let n = i + 1;
            // The file is read as a C string: a NUL byte ends the line's useful part.
            let raw = raw.split(|&c| c == 0).next().unwrap_or_default();
            let line = trim_line(raw);
            if line.is_empty() || line.first() == Some(&b'#') {
                continue;
            }
            let Some(mut argv) = split_args(line) else {
                return Err(fatal(
                    n,
                    line,
                    "Unbalanced quotes in configuration line".into(),
                ));
            };
            let Some(name) = argv.first_mut() else {
                continue;
            };
            name.make_ascii_lowercase();
            let argc = argv.len();
            if let Some((idx, _)) = table::lookup(&argv[0]) {
                let spec = &CONFIGS[idx];
                if !spec.has(MULTI_ARG) && argc != 2 {
                    return Err(fatal(n, line, "wrong number of arguments".into()));
                }
                // As redis-server, a multi-argument directive given one non-empty argument
                // (`--save "900 1 300 10"`) has it split like a line of its own; unbalanced
                // quotes there leave no arguments at all.
                let split;
                let args = if spec.has(MULTI_ARG) && argc == 2 && !argv[1].is_empty() {
                    split = split_args(&argv[1]).unwrap_or_default();
                    &split[..]
                } else {
                    &argv[1..]
                };
                self.set(idx, spec, args)
                    .map_err(|msg| fatal(n, line, msg))?;
                continue;
            }
            let name = String::from_utf8_lossy(&argv[0]).into_owned();
            if table::DEPRECATED
                .iter()
                .any(|(d, lo, hi)| *d == name && (*lo..=*hi).contains(&argc))
            {
                continue;
            }
            match (name.as_str(), argc) {
                ("include", 2) => self.include(&argv[1])?,
                ("rename-command", 3) => self
                    .loaded
                    .command_names
                    .get_or_insert_with(Default::default)
                    .rename(&argv[1], &argv[2])
                    .map_err(|msg| fatal(n, line, msg))?,
                ("user", 2..) => self.loaded.notes.push(format!(
                    "Directive '{name}' is accepted but not implemented by this server (line {n})"
                )),
                ("loadmodule", 2..) => self.loaded.modules.push(argv[1].clone()),
                ("sentinel", 1) => {}
                ("sentinel", _) => {
                    return Err(fatal(
                        n,
                        line,
                        "sentinel directive while not in sentinel mode".into(),
                    ))
                }
                (other, _) if other.contains('.') => {
                    if argc != 2 {
                        return Err(fatal(
                            n,
                            line,
                            "Module config specified without value".into(),
                        ));
                    }
                    self.loaded.module_configs += 1;
                }
                _ => {
                    return Err(fatal(
                        n,
                        line,
                        "Bad directive or wrong number of arguments".into(),
                    ))
                }
            }
        }
        self.check_end()
    }

    fn set(&mut self, idx: usize, spec: &Spec, args: &[Vec<u8>]) -> Result<(), String> {
        let current = self
            .loaded
            .values
            .get(idx)
            .cloned()
            .unwrap_or(Value::Bool(false));
        let v = value::parse(spec, &current, args, &mut self.ctx).map_err(|e| e.into_owned())?;
        if let (Some(slot), Some(seen)) = (
            self.loaded.values.get_mut(idx),
            self.loaded.present.get_mut(idx),
        ) {
            *slot = v;
            *seen = true;
        }
        Ok(())
    }

    fn include(&mut self, pattern: &[u8]) -> Result<(), LoadError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(LoadError::Fatal {
                line: None,
                msg: format!("include nested deeper than {MAX_INCLUDE_DEPTH} levels"),
            });
        }
        let base = self.dir();
        let pattern_str = String::from_utf8_lossy(pattern).into_owned();
        let files = if pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            glob_files(&base, &pattern_str)
        } else {
            vec![PathBuf::from(&pattern_str)]
        };
        for f in files {
            let text = read_config_file(&base.join(&f)).map_err(|e| match e {
                LoadError::CantOpen { reason, .. } => LoadError::CantOpen {
                    path: f.to_string_lossy().into_owned(),
                    reason,
                },
                other => other,
            })?;
            self.depth += 1;
            let r = self.load_str(&text);
            self.depth -= 1;
            r?;
        }
        Ok(())
    }

    /// The `dir` value now (relative includes and the log file are opened from it).
    fn dir(&self) -> PathBuf {
        table::index_of("dir")
            .and_then(|i| self.loaded.values.get(i))
            .and_then(|v| match v {
                Value::Dir(d) => Some(d.clone()),
                _ => None,
            })
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    fn value(&self, name: &str) -> Option<&Value> {
        table::index_of(name).and_then(|i| self.loaded.values.get(i))
    }

    /// The checks Redis makes after each configuration text.
    fn check_end(&self) -> Result<(), LoadError> {
        if let Some(Value::Str(Some(logfile))) = self.value("logfile") {
            if !logfile.is_empty() {
                let path = self.dir().join(std::ffi::OsStr::from_bytes(logfile));
                if let Err(e) = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&path)
                {
                    return Err(LoadError::Fatal {
                        line: None,
                        msg: format!("Can't open the log file: {}", value::strerror(&e)),
                    });
                }
            }
        }
        let cluster = matches!(self.value("cluster-enabled"), Some(Value::Bool(true)));
        let replica = matches!(self.value("replicaof"), Some(Value::ReplicaOf(Some(_))));
        if cluster && replica {
            return Err(LoadError::Fatal {
                line: None,
                msg: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        Ok(())
    }

    /// What was read so far.
    pub fn finish(self) -> Loaded {
        self.loaded
    }
}

use std::os::unix::ffi::OsStrExt;

fn read_config_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|e| LoadError::CantOpen {
        path: path.to_string_lossy().into_owned(),
        reason: value::strerror(&e).into_owned(),
    })
}

/// Files matching a glob in its last path component, sorted (glob(3) sorts).
fn glob_files(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let full = base.join(pattern);
    let (Some(dir), Some(name)) = (full.parent(), full.file_name()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            !n.as_bytes().starts_with(b".") && glob_match(name.as_bytes(), n.as_bytes(), false)
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}
