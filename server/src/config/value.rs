//! Directive values: parsing (config file, command line, CONFIG SET) with Redis's exact error
//! texts, and the text CONFIG GET shows.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::grammar::{memtoull, string2ll, strtoll_full};
use super::table::{Check, Kind, Spec, Special, Unit};

/// Output buffer limits of one client class (the default: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObufLimit {
    /// Hard limit in bytes (0 = none).
    pub hard: u64,
    /// Soft limit in bytes (0 = none).
    pub soft: u64,
    /// Seconds the soft limit may be exceeded.
    pub soft_seconds: i64,
}

/// Defaults of `client-output-buffer-limit`: normal, replica, pubsub.
pub const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    },
    ObufLimit {
        hard: 256 << 20,
        soft: 64 << 20,
        soft_seconds: 60,
    },
    ObufLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    },
];

/// Class names as CONFIG GET prints them.
pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Default `save` points.
pub const SAVE_DEFAULTS: &[(i64, i64)] = &[(3600, 1), (300, 100), (60, 10000)];
/// Default `oom-score-adj-values`.
pub const OOM_DEFAULTS: [i64; 3] = [0, 200, 800];
/// Default `bind`.
pub const BIND_DEFAULTS: [&str; 2] = ["*", "-::*"];
/// Default `latency-tracking-info-percentiles`.
pub const PERCENTILE_DEFAULTS: [f64; 3] = [50.0, 99.0, 99.9];

/// One directive's current value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// yes/no.
    Bool(bool),
    /// Any integer directive (wide enough for both i64 and u64 ones).
    Num(i128),
    /// A string; `None` = unset.
    Str(Option<Vec<u8>>),
    /// An enum's value.
    Enum(i32),
    /// `dir`: the absolute working directory.
    Dir(PathBuf),
    /// `save` points: (seconds, changes).
    Save(Vec<(i64, i64)>),
    /// `client-output-buffer-limit` for normal, replica, pubsub.
    Obuf([ObufLimit; 3]),
    /// `oom-score-adj-values`.
    Oom([i64; 3]),
    /// `notify-keyspace-events` flag bits.
    Notify(u32),
    /// `bind` addresses.
    Bind(Vec<Vec<u8>>),
    /// `replicaof` host and port.
    ReplicaOf(Option<(Vec<u8>, i64)>),
    /// `latency-tracking-info-percentiles`.
    Percentiles(Vec<f64>),
}

/// What a setter needs besides the value.
#[derive(Debug)]
pub struct SetCtx {
    /// The value comes from a config file or the command line (not CONFIG SET).
    pub reading_file: bool,
    /// The first `save` line of the configuration replaces the defaults; later ones add.
    pub save_loaded: bool,
    /// Change the process's working directory for `dir` (false in tests of the grammar).
    pub chdir: bool,
}

/// The default value of a directive. `cwd` is the working directory at start (for `dir`).
pub fn default_value(spec: &Spec, cwd: &Path) -> Value {
    match spec.kind {
        Kind::Bool { default, .. } => Value::Bool(default),
        Kind::Str { default, .. } => Value::Str(default.map(|d| d.as_bytes().to_vec())),
        Kind::Enum { default, .. } => Value::Enum(default),
        Kind::Num { default, .. } => Value::Num(default),
        Kind::Special(sp) => match sp {
            Special::Dir => Value::Dir(cwd.to_path_buf()),
            Special::Save => Value::Save(SAVE_DEFAULTS.to_vec()),
            Special::ClientOutputBufferLimit => Value::Obuf(OBUF_DEFAULTS),
            Special::OomScoreAdjValues => Value::Oom(OOM_DEFAULTS),
            Special::NotifyKeyspaceEvents => Value::Notify(0),
            Special::Bind => Value::Bind(
                BIND_DEFAULTS
                    .iter()
                    .map(|b| b.as_bytes().to_vec())
                    .collect(),
            ),
            Special::ReplicaOf => Value::ReplicaOf(None),
            Special::Percentiles => Value::Percentiles(PERCENTILE_DEFAULTS.to_vec()),
        },
    }
}

type SetResult = Result<Value, Cow<'static, str>>;

/// Parses `args` (one argument unless the directive is multi-argument) into the directive's
/// new value. `current` is its value now (`save` adds to it while reading a file).
pub fn parse(spec: &Spec, current: &Value, args: &[Vec<u8>], ctx: &mut SetCtx) -> SetResult {
    let first = args.first().map(Vec::as_slice).unwrap_or_default();
    match spec.kind {
        Kind::Bool { check, .. } => {
            let v = if first.eq_ignore_ascii_case(b"yes") {
                true
            } else if first.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err("argument must be 'yes' or 'no'".into());
            };
            if check == Check::ActiveDefrag && v {
                return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into());
            }
            Ok(Value::Bool(v))
        }
        Kind::Str {
            empty_is_null,
            check,
            ..
        } => {
            check_string(check, first)?;
            Ok(Value::Str(if empty_is_null && first.is_empty() {
                None
            } else {
                Some(first.to_vec())
            }))
        }
        Kind::Enum { names, flags, .. } => parse_enum(names, flags, args),
        Kind::Num {
            min,
            max,
            unit,
            unsigned,
            check,
            ..
        } => {
            // Redis parses into a C long long (a memory value above i64::MAX wraps) and
            // compares unsigned directives as unsigned.
            let ll = parse_number(unit, first)?;
            let v = if unsigned {
                i128::from(ll as u64)
            } else {
                i128::from(ll)
            };
            if unit == Unit::MemoryPercent && v < 0 {
                if v < min {
                    return Err(
                        format!("percentage argument must be less or equal to {}", -min).into(),
                    );
                }
            } else if v < min || v > max {
                return Err(if unit == Unit::Octal {
                    format!("argument must be between {min:o} and {max:o} inclusive")
                } else {
                    format!("argument must be between {min} and {max} inclusive")
                }
                .into());
            }
            Ok(Value::Num(match check {
                Check::Hz => v.clamp(1, 500),
                Check::ReplBacklog if !ctx.reading_file => v.max(16 * 1024),
                _ => v,
            }))
        }
        Kind::Special(sp) => parse_special(sp, current, args, ctx),
    }
}

fn check_string(check: Check, v: &[u8]) -> Result<(), Cow<'static, str>> {
    match check {
        Check::DbFilename if v.contains(&b'/') => {
            Err("dbfilename can't be a path, just a filename".into())
        }
        Check::AofFilename if v.is_empty() => Err("appendfilename can't be empty".into()),
        Check::AofFilename if v.contains(&b'/') => {
            Err("appendfilename can't be a path, just a filename".into())
        }
        Check::AofDirname if v.is_empty() => Err("appenddirname can't be empty".into()),
        Check::AofDirname if v.contains(&b'/') => {
            Err("appenddirname can't be a path, just a dirname".into())
        }
        Check::Hostname if v.len() >= 256 => {
            Err("Hostnames must be less than 256 characters".into())
        }
        Check::Hostname
            if !v
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') =>
        {
            Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
        }
        Check::ProcTitle if !valid_proc_title(v) => {
            Err("template format is invalid or contains unknown variables".into())
        }
        _ => Ok(()),
    }
}

/// A proc-title template may only use Redis's variables and must not expand to nothing.
fn valid_proc_title(t: &[u8]) -> bool {
    const VARS: [&[u8]; 7] = [
        b"title",
        b"listen-addr",
        b"server-mode",
        b"port",
        b"tls-port",
        b"unixsocket",
        b"config-file",
    ];
    let mut i = 0;
    let mut produces_text = false;
    while let Some(&c) = t.get(i) {
        match c {
            b'{' if t.get(i + 1) == Some(&b'{') => {
                produces_text = true;
                i += 2;
            }
            b'}' if t.get(i + 1) == Some(&b'}') => {
                produces_text = true;
                i += 2;
            }
            b'}' => return false,
            b'{' => {
                let Some(len) = t
                    .get(i + 1..)
                    .and_then(|r| r.iter().position(|&c| c == b'}'))
                else {
                    return false;
                };
                let name = t.get(i + 1..i + 1 + len).unwrap_or_default();
                if !VARS.contains(&name) {
                    return false;
                }
                // {title} alone is empty during validation (Redis expands it with "").
                produces_text |= name != b"title";
                i += len + 2;
            }
            b' ' => i += 1,
            _ => {
                produces_text = true;
                i += 1;
            }
        }
    }
    produces_text
}

fn parse_enum(names: &[(&str, i32)], flags: bool, args: &[Vec<u8>]) -> SetResult {
    let find = |a: &[u8]| {
        names
            .iter()
            .find(|(n, _)| a.eq_ignore_ascii_case(n.as_bytes()))
            .map(|&(_, v)| v)
    };
    let value = if flags {
        let mut acc = Some(0);
        for a in args {
            acc = acc.zip(find(a)).map(|(x, y)| x | y);
        }
        acc.filter(|_| !args.is_empty())
    } else {
        args.first().and_then(|a| find(a))
    };
    value.map(Value::Enum).ok_or_else(|| {
        let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
        format!(
            "argument(s) must be one of the following: {}",
            list.join(", ")
        )
        .into()
    })
}

fn parse_number(unit: Unit, s: &[u8]) -> Result<i64, Cow<'static, str>> {
    if matches!(unit, Unit::Memory | Unit::MemoryPercent) {
        if let Some(v) = memtoull(s) {
            // Stored in a C long long: values above i64::MAX wrap.
            return Ok(v as i64);
        }
    }
    if unit == Unit::MemoryPercent {
        if let Some(digits) = s.strip_suffix(b"%").filter(|d| !d.is_empty()) {
            if let Some(v) = string2ll(digits).filter(|v| *v >= 0) {
                return Ok(-v);
            }
        }
    }
    if unit == Unit::Octal {
        if let Some(v) = strtoll_octal(s) {
            return Ok(v);
        }
    }
    if unit == Unit::Int {
        if let Some(v) = string2ll(s) {
            return Ok(v);
        }
    }
    Err(match unit {
        Unit::MemoryPercent => "argument must be a memory or percent value",
        Unit::Memory => "argument must be a memory value",
        Unit::Octal => "argument couldn't be parsed as an octal number",
        Unit::Int => "argument couldn't be parsed into an integer",
    }
    .into())
}

/// `strtoll(s, &end, 8)` with the whole string consumed and no overflow.
fn strtoll_octal(s: &[u8]) -> Option<i64> {
    let t = s.trim_ascii_start();
    let (neg, digits) = match t.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, t),
    };
    if digits.is_empty() {
        return s.is_empty().then_some(0);
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(i64::from(d - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

fn parse_special(sp: Special, current: &Value, args: &[Vec<u8>], ctx: &mut SetCtx) -> SetResult {
    match sp {
        Special::Dir => {
            let [dir] = args else {
                return Err("wrong number of arguments".into());
            };
            set_dir(current, dir, ctx.chdir)
        }
        Special::Save => parse_save(current, args, ctx),
        Special::ClientOutputBufferLimit => parse_obuf(current, args),
        Special::OomScoreAdjValues => {
            let [a, b, c] = args else {
                return Err("wrong number of arguments".into());
            };
            let mut out = [0i64; 3];
            for (slot, arg) in out.iter_mut().zip([a, b, c]) {
                match strtoll_full(arg).filter(|v| (-2000..=2000).contains(v)) {
                    Some(v) => *slot = v,
                    None => return Err(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .into(),
                    ),
                }
            }
            Ok(Value::Oom(out))
        }
        Special::NotifyKeyspaceEvents => {
            let [flags] = args else {
                return Err("wrong number of arguments".into());
            };
            notify_flags(flags)
                .map(Value::Notify)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
        }
        Special::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            if let [only] = args {
                if only.is_empty() {
                    return Ok(Value::Bind(Vec::new()));
                }
            }
            Ok(Value::Bind(args.to_vec()))
        }
        Special::ReplicaOf => {
            let [host, port] = args else {
                return Err("wrong number of arguments".into());
            };
            if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
                return Ok(Value::ReplicaOf(None));
            }
            match strtoll_full(port).filter(|p| (0..=65535).contains(p)) {
                Some(p) if !port.is_empty() => Ok(Value::ReplicaOf(Some((host.clone(), p)))),
                _ => Err("Invalid master port".into()),
            }
        }
        Special::Percentiles => {
            if let [only] = args {
                if only.is_empty() {
                    return Ok(Value::Percentiles(Vec::new()));
                }
            }
            let mut out = Vec::with_capacity(args.len());
            for a in args {
                let p = std::str::from_utf8(a)
                    .ok()
                    .filter(|s| !s.starts_with(|c: char| c.is_ascii_whitespace()))
                    .and_then(strtod_full)
                    .filter(|p| !p.is_nan())
                    .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(
                        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                            .into(),
                    );
                }
                out.push(p);
            }
            Ok(Value::Percentiles(out))
        }
    }
}

/// C's `strtod` over the whole string: decimal, `inf`/`nan`, and hexadecimal (`0x10`,
/// `0x1.8p3`) forms.
fn strtod_full(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let hex = body
        .strip_prefix("0x")
        .or_else(|| body.strip_prefix("0X"))?;
    let (mantissa, exp) = match hex.find(['p', 'P']) {
        Some(at) => (hex.get(..at)?, hex.get(at + 1..)?.parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp);
    Some(if neg { -v } else { v })
}

fn set_dir(current: &Value, dir: &[u8], chdir: bool) -> SetResult {
    let path = Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(dir));
    let base = match current {
        Value::Dir(d) => d.clone(),
        _ => PathBuf::from("/"),
    };
    if chdir {
        std::env::set_current_dir(path).map_err(|e| strerror(&e))?;
        let now = std::env::current_dir().map_err(|e| strerror(&e))?;
        return Ok(Value::Dir(now));
    }
    let target = base.join(path);
    match std::fs::metadata(&target) {
        Ok(m) if m.is_dir() => Ok(Value::Dir(normalize(&target))),
        Ok(_) => Err("Not a directory".into()),
        Err(e) => Err(strerror(&e)),
    }
}

/// Lexically resolves `.` and `..` (what getcwd would report after chdir, symlinks aside).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
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

/// The C library's `strerror` text of an I/O error (without Rust's " (os error N)").
pub fn strerror(e: &std::io::Error) -> Cow<'static, str> {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(at) => s.get(..at).unwrap_or_default().to_owned().into(),
        None => s.into(),
    }
}

fn parse_save(current: &Value, args: &[Vec<u8>], ctx: &mut SetCtx) -> SetResult {
    let args: &[Vec<u8>] = match args {
        [only] if only.is_empty() => &[],
        other => other,
    };
    if args.len() % 2 == 1 {
        return Err("Invalid save parameters".into());
    }
    let mut points = Vec::with_capacity(args.len() / 2);
    for pair in args.chunks_exact(2) {
        let (Some(secs), Some(changes)) = (strtoll_full(&pair[0]), strtoll_full(&pair[1])) else {
            return Err("Invalid save parameters".into());
        };
        if secs < 1 || changes < 0 {
            return Err("Invalid save parameters".into());
        }
        points.push((secs, changes));
    }
    // In a config file the first `save` line replaces the defaults and later ones add to it;
    // CONFIG SET always replaces.
    if ctx.reading_file && ctx.save_loaded {
        if let Value::Save(old) = current {
            let mut all = old.clone();
            all.extend(points);
            return Ok(Value::Save(all));
        }
    }
    ctx.save_loaded |= ctx.reading_file;
    Ok(Value::Save(points))
}

fn parse_obuf(current: &Value, args: &[Vec<u8>]) -> SetResult {
    if args.len() % 4 != 0 {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    let mut limits = match current {
        Value::Obuf(l) => *l,
        _ => OBUF_DEFAULTS,
    };
    let mut staged = Vec::with_capacity(args.len() / 4);
    for group in args.chunks_exact(4) {
        let class = match group[0].to_ascii_lowercase().as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".into())
            }
        };
        let (Some(hard), Some(soft), Some(secs)) = (
            memtoull(&group[1]),
            memtoull(&group[2]),
            strtoll_full(&group[3]).filter(|s| *s >= 0),
        ) else {
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into(),
            );
        };
        staged.push((
            class,
            ObufLimit {
                hard,
                soft,
                soft_seconds: secs,
            },
        ));
    }
    for (class, l) in staged {
        if let Some(slot) = limits.get_mut(class) {
            *slot = l;
        }
    }
    Ok(Value::Obuf(limits))
}

const NOTIFY_KEYSPACE: u32 = 1;
const NOTIFY_KEYEVENT: u32 = 1 << 1;
const NOTIFY_KEY_MISS: u32 = 1 << 11;
const NOTIFY_NEW: u32 = 1 << 13;
/// (char, bit) for the classes that `A` stands for, in Redis's output order.
const NOTIFY_CLASSES: [(u8, u32); 10] = [
    (b'g', 1 << 2),
    (b'$', 1 << 3),
    (b'l', 1 << 4),
    (b's', 1 << 5),
    (b'h', 1 << 6),
    (b'z', 1 << 7),
    (b'x', 1 << 8),
    (b'e', 1 << 9),
    (b't', 1 << 10),
    (b'd', 1 << 12),
];
const NOTIFY_ALL: u32 = (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 7)
    | (1 << 8)
    | (1 << 9)
    | (1 << 10)
    | (1 << 12);

fn notify_flags(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            b'A' => NOTIFY_ALL,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b'm' => NOTIFY_KEY_MISS,
            b'n' => NOTIFY_NEW,
            other => NOTIFY_CLASSES.iter().find(|(ch, _)| *ch == other)?.1,
        };
    }
    Some(flags)
}

/// The flag letters CONFIG GET shows for `notify-keyspace-events`.
pub fn notify_string(flags: u32) -> String {
    let mut out = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        out.push('A');
    } else {
        for (c, bit) in NOTIFY_CLASSES {
            if flags & bit != 0 {
                out.push(char::from(c));
            }
        }
    }
    for (c, bit) in [
        ('K', NOTIFY_KEYSPACE),
        ('E', NOTIFY_KEYEVENT),
        ('m', NOTIFY_KEY_MISS),
        ('n', NOTIFY_NEW),
    ] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// `%f` then trailing zeros (and a trailing point) removed, as Redis's trimDoubleString.
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The enum name of `v` (flags enums join the names of their bits).
pub fn enum_name(names: &[(&str, i32)], flags: bool, v: i32) -> String {
    if let Some((n, _)) = names.iter().find(|(_, x)| *x == v) {
        return (*n).to_owned();
    }
    if flags {
        let parts: Vec<&str> = names
            .iter()
            .filter(|(_, bit)| *bit != 0 && v & bit == *bit)
            .map(|(n, _)| *n)
            .collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
    }
    "unknown".to_owned()
}

/// The text CONFIG GET shows for `v`.
pub fn display(spec: &Spec, v: &Value) -> Vec<u8> {
    match (spec.kind, v) {
        (_, Value::Bool(b)) => {
            if *b {
                b"yes".to_vec()
            } else {
                b"no".to_vec()
            }
        }
        (Kind::Num { unit, .. }, Value::Num(n)) => match unit {
            Unit::MemoryPercent if *n < 0 => format!("{}%", -n).into_bytes(),
            Unit::Octal => format!("{n:o}").into_bytes(),
            _ => n.to_string().into_bytes(),
        },
        (_, Value::Num(n)) => n.to_string().into_bytes(),
        (_, Value::Str(s)) => s.clone().unwrap_or_default(),
        (Kind::Enum { names, flags, .. }, Value::Enum(e)) => {
            enum_name(names, flags, *e).into_bytes()
        }
        (_, Value::Enum(e)) => e.to_string().into_bytes(),
        (_, Value::Dir(d)) => {
            use std::os::unix::ffi::OsStrExt;
            d.as_os_str().as_bytes().to_vec()
        }
        (_, Value::Save(points)) => points
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes(),
        (_, Value::Obuf(l)) => l
            .iter()
            .zip(OBUF_CLASSES)
            .map(|(l, c)| format!("{c} {} {} {}", l.hard, l.soft, l.soft_seconds))
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes(),
        (_, Value::Oom(v)) => format!("{} {} {}", v[0], v[1], v[2]).into_bytes(),
        (_, Value::Notify(f)) => notify_string(*f).into_bytes(),
        (_, Value::Bind(addrs)) => addrs.join(&b' '),
        (_, Value::ReplicaOf(r)) => match r {
            Some((h, p)) => [h.as_slice(), b" ", p.to_string().as_bytes()].concat(),
            None => Vec::new(),
        },
        (_, Value::Percentiles(p)) => p
            .iter()
            .map(|p| format_percentile(*p))
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::table::{lookup, CONFIGS};

    fn set(name: &str, args: &[&str]) -> Result<String, String> {
        let (idx, _) = lookup(name.as_bytes()).unwrap();
        let spec = &CONFIGS[idx];
        let cur = default_value(spec, Path::new("/"));
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut ctx = SetCtx {
            reading_file: false,
            save_loaded: false,
            chdir: false,
        };
        parse(spec, &cur, &args, &mut ctx)
            .map(|v| String::from_utf8(display(spec, &v)).unwrap())
            .map_err(|e| e.into_owned())
    }

    #[test]
    fn numbers_use_redis_errors() {
        assert_eq!(set("port", &["7000"]).unwrap(), "7000");
        assert_eq!(
            set("port", &["99999"]).unwrap_err(),
            "argument must be between 0 and 65535 inclusive"
        );
        assert_eq!(
            set("port", &["abc"]).unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            set("maxmemory", &["1zb"]).unwrap_err(),
            "argument must be a memory value"
        );
        assert_eq!(set("maxmemory", &["1GB"]).unwrap(), "1073741824");
        assert_eq!(
            set("maxclients", &["-1"]).unwrap_err(),
            "argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(set("maxmemory-clients", &["10%"]).unwrap(), "10%");
        assert_eq!(
            set("maxmemory-clients", &["101%"]).unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        assert_eq!(
            set("unixsocketperm", &["999"]).unwrap_err(),
            "argument couldn't be parsed as an octal number"
        );
        assert_eq!(set("unixsocketperm", &["700"]).unwrap(), "700");
        assert_eq!(set("hz", &["1000"]).unwrap(), "500");
        assert_eq!(set("hz", &["0"]).unwrap(), "1");
    }

    #[test]
    fn enums_and_bools() {
        assert_eq!(
            set("loglevel", &["loud"]).unwrap_err(),
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        assert_eq!(set("LOGLEVEL", &["WARNING"]).unwrap(), "warning");
        assert_eq!(set("oom-score-adj", &["relative"]).unwrap(), "yes");
        assert_eq!(
            set("shutdown-on-sigterm", &["save", "now"]).unwrap(),
            "save now"
        );
        assert_eq!(
            set("slave-read-only", &["maybe"]).unwrap_err(),
            "argument must be 'yes' or 'no'"
        );
    }

    #[test]
    fn specials() {
        assert_eq!(set("save", &[""]).unwrap(), "");
        assert_eq!(set("save", &["10", "1", "20", "2"]).unwrap(), "10 1 20 2");
        assert_eq!(set("save", &["10"]).unwrap_err(), "Invalid save parameters");
        assert_eq!(
            set("save", &["0", "1"]).unwrap_err(),
            "Invalid save parameters"
        );
        assert_eq!(
            set("client-output-buffer-limit", &["normal", "1mb", "2kb", "3"]).unwrap(),
            "normal 1048576 2048 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            set("client-output-buffer-limit", &["master", "0", "0", "0"]).unwrap_err(),
            "Invalid client class specified in buffer limit configuration."
        );
        assert_eq!(set("notify-keyspace-events", &["KEA"]).unwrap(), "AKE");
        assert_eq!(set("notify-keyspace-events", &["Egx"]).unwrap(), "gxE");
        assert_eq!(
            set(
                "latency-tracking-info-percentiles",
                &["50", "99.999", "100"]
            )
            .unwrap(),
            "50 99.999 100"
        );
        assert_eq!(set("bind", &["127.0.0.1", "::1"]).unwrap(), "127.0.0.1 ::1");
        assert_eq!(
            set("slaveof", &["10.0.0.1", "7000"]).unwrap(),
            "10.0.0.1 7000"
        );
        assert_eq!(set("replicaof", &["no", "one"]).unwrap(), "");
        assert_eq!(
            set("replicaof", &["h", "99999"]).unwrap_err(),
            "Invalid master port"
        );
        assert_eq!(
            set("cluster-announce-hostname", &["bad_host"]).unwrap_err(),
            "Hostnames may only contain alphanumeric characters, hyphens or dots"
        );
        assert_eq!(
            set("dir", &["/nonexistent/dir"]).unwrap_err(),
            "No such file or directory"
        );
    }

    #[test]
    fn proc_title_templates() {
        assert!(valid_proc_title(b"{title} {listen-addr} {server-mode}"));
        assert!(!valid_proc_title(b"{bad}"));
        assert!(!valid_proc_title(b"{title"));
        assert!(valid_proc_title(b"redis {port}"));
    }
}
