//! The `transform` of an http-poller topic: a jq filter run by jaq (the maintained Rust jq
//! implementation; crates `jaq-core`, `jaq-std`, `jaq-json`). Pure: no I/O. The config loader
//! compiles it to validate the topic; the poller compiles its own copy and runs it on each
//! payload.
//!
//! Decisions:
//! - A transform must produce exactly one output, which is published. Zero or several outputs
//!   are an error ([`TransformError::NoOutput`], [`TransformError::SeveralOutputs`]) rather
//!   than collected into an array: collecting would make the payload's shape depend on the
//!   data (`.items[]` over one item gives an object, over two an array), which breaks
//!   subscribers and patches. Write `[.items[]]` or `map(...)` to collect. The run stops at
//!   the second output, so an infinite productive filter (`repeat(.)`) fails at once.
//!   A runtime error (including `error(...)`) is a [`TransformError::Runtime`], never a panic.
//! - The filter runs with jq's standard library minus what reaches outside the payload:
//!   `env` (would publish the router's environment, secrets included), `$ENV` (undefined),
//!   `input`/`inputs` (not provided), `halt`/`halt_error` (a runtime error here, never an
//!   exit) and `stderr`/`debug` (no-ops: they write nothing). `now` stays.
//! - jaq runs synchronously and cannot be interrupted: a filter that loops forever without
//!   producing output (`def f: f; f`, `repeat(.)|empty`) or builds a huge value
//!   (`[range(1e9)]`) blocks its caller, so run transforms on a blocking thread.
//! - jaq has no recursion limit: unbounded non-tail recursion (`def f: 1 + f; f`) overflows
//!   the thread's stack, which aborts the process (checked with jaq-core 3.1.2). Transforms
//!   are therefore trusted configuration (set by whoever may define topics), not user input.

use std::fmt::Write as _;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use serde_json::Value;

/// Why a transform was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// The filter does not parse or refers to something undefined (load-time validation);
    /// the message lists every problem with its character position.
    #[error("invalid jq filter: {0}")]
    Compile(String),
    /// The filter failed on this input (jq `error`, type errors such as `"a" + 1`, ...).
    #[error("jq filter failed: {0}")]
    Runtime(String),
    /// An output that is not JSON (jaq values may be byte strings, non-string keys, NaN).
    #[error("jq filter produced a value that is not JSON: {0}")]
    NotJson(String),
    /// The filter produced nothing (`empty`, a `select` that filtered everything out).
    #[error("jq filter produced no output; a transform must produce exactly one value")]
    NoOutput,
    /// The filter produced more than one output (`.items[]`).
    #[error(
        "jq filter produced several outputs; a transform must produce exactly one value \
         (wrap the filter in [...] to collect them into an array)"
    )]
    SeveralOutputs,
}

type JqData = data::JustLut<Val>;

/// A compiled jq filter. `Send + Sync`: compile once at load time, share it.
pub struct Transform {
    source: String,
    filter: jaq_core::Filter<JqData>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Native filters left out (see the module documentation).
const EXCLUDED: &[&str] = &["env", "halt", "stderr_empty", "debug_empty"];

impl Transform {
    /// Parses and compiles `filter`.
    pub fn compile(filter: &str) -> Result<Transform, TransformError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs::<JqData>()
            .chain(jaq_std::funs::<JqData>())
            .chain(jaq_json::funs::<JqData>())
            .filter(|(name, _, _)| !EXCLUDED.contains(name))
            .chain(replacements());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let program = File {
            code: filter,
            path: (),
        };
        let modules = loader
            .load(&arena, program)
            .map_err(|errs| TransformError::Compile(load_errors(filter, errs)))?;
        let compiled = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errs| TransformError::Compile(compile_errors(filter, errs)))?;
        Ok(Transform {
            source: filter.to_string(),
            filter: compiled,
        })
    }

    /// The filter as given to [`Transform::compile`].
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Runs the filter on `input`; it must produce exactly one output (see the module
    /// documentation).
    pub fn apply(&self, input: Value) -> Result<Value, TransformError> {
        let input = to_val(input);
        let ctx = Ctx::<JqData>::new(&self.filter.lut, Vars::new([]));
        let mut output = None;
        for item in self.filter.id.run((ctx, input)) {
            match item {
                Ok(v) => {
                    if output.is_some() {
                        return Err(TransformError::SeveralOutputs);
                    }
                    output = Some(v);
                }
                Err(exn) => {
                    let message = match exn.get_err() {
                        // A string error value (`error("...")`, type errors) prints
                        // raw, as jq does; any other value as JSON text.
                        Ok(err) => match err.into_val() {
                            Val::TStr(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                            other => other.to_string(),
                        },
                        Err(exn) => match exn.get_halt() {
                            Ok(code) => format!("halt({code})"),
                            Err(other) => format!("{other:?}"),
                        },
                    };
                    return Err(TransformError::Runtime(message));
                }
            }
        }
        match output {
            Some(v) => from_val(&v),
            None => Err(TransformError::NoOutput),
        }
    }
}

/// `stderr_empty` and `debug_empty` as silent no-ops (so `debug` and `stderr` still compile
/// and pass their input through), `halt/1` as a runtime error.
fn replacements() -> impl Iterator<Item = jaq_core::native::Fun<JqData>> {
    use jaq_core::box_iter::box_once;
    use jaq_core::native::{run, v};
    use jaq_core::{Cv, Exn, RunPtr, ValXs};
    fn nothing<'a>(_: Cv<'a, JqData>) -> ValXs<'a, Val> {
        Box::new(std::iter::empty())
    }
    fn halt<'a>(_: Cv<'a, JqData>) -> ValXs<'a, Val> {
        box_once(Err(Exn::from(jaq_core::Error::new(Val::from(
            "halt is not available in transforms".to_string(),
        )))))
    }
    let list: [jaq_core::native::Filter<RunPtr<JqData>>; 3] = [
        ("stderr_empty", v(0), nothing),
        ("debug_empty", v(0), nothing),
        ("halt", v(1), halt),
    ];
    list.into_iter().map(run::<JqData>)
}

fn position(code: &str, part: &str) -> usize {
    let start = part.as_ptr() as usize;
    let base = code.as_ptr() as usize;
    if start >= base && start <= base + code.len() {
        code[..start - base].chars().count()
    } else {
        0
    }
}

fn found(part: &str) -> String {
    if part.is_empty() {
        "end of input".to_string()
    } else {
        let shown: String = part.chars().take(20).collect();
        format!("'{shown}'")
    }
}

fn load_errors(code: &str, errs: jaq_core::load::Errors<&str, ()>) -> String {
    use jaq_core::load::{Error, lex};
    let mut out = String::new();
    for (_file, err) in errs {
        match err {
            Error::Io(list) => {
                for (path, reason) in list {
                    push(&mut out, format!("cannot load module '{path}': {reason}"));
                }
            }
            Error::Lex(list) => {
                for (expect, part) in list {
                    let what = match expect {
                        lex::Expect::Delim(d) => match d {
                            "(" => "closing parenthesis",
                            "[" => "closing bracket",
                            "{" => "closing brace",
                            "\"" => "closing quote",
                            _ => "closing delimiter",
                        },
                        other => other.as_str(),
                    };
                    push(
                        &mut out,
                        format!(
                            "expected {what}, found {} at {}",
                            found(part),
                            position(code, part)
                        ),
                    );
                }
            }
            Error::Parse(list) => {
                for (expect, part) in list {
                    push(
                        &mut out,
                        format!(
                            "expected {}, found {} at {}",
                            expect.as_str(),
                            found(part),
                            position(code, part)
                        ),
                    );
                }
            }
        }
    }
    out
}

fn compile_errors(code: &str, errs: jaq_core::compile::Errors<&str, ()>) -> String {
    let mut out = String::new();
    for (_file, list) in errs {
        for (name, undefined) in list {
            let arity = match &undefined {
                jaq_core::compile::Undefined::Filter(arity) => format!("/{arity}"),
                _ => String::new(),
            };
            push(
                &mut out,
                format!(
                    "undefined {} '{name}{arity}' at {}",
                    undefined.as_str(),
                    position(code, name)
                ),
            );
        }
    }
    out
}

fn push(out: &mut String, message: String) {
    if !out.is_empty() {
        out.push_str("; ");
    }
    let _ = write!(out, "{message}");
}

fn to_val(value: Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(b),
        Value::Number(n) => {
            // Integers keep their exactness; other numbers go through jaq's own number parser
            // (same text as serde_json printed).
            jaq_json::read::parse_single(n.to_string().as_bytes()).unwrap_or(Val::Null)
        }
        Value::String(s) => Val::from(s),
        Value::Array(items) => Val::Arr(jaq_json::Rc::new(items.into_iter().map(to_val).collect())),
        Value::Object(map) => Val::obj(
            map.into_iter()
                .map(|(k, v)| (Val::from(k), to_val(v)))
                .collect(),
        ),
    }
}

fn from_val(value: &Val) -> Result<Value, TransformError> {
    // jaq prints its values as JSON text when they are JSON; anything else (byte strings,
    // non-string keys, NaN/Infinity) fails to parse back and is refused.
    let text = value.to_string();
    serde_json::from_str(&text).map_err(|_| TransformError::NotJson(truncate(&text)))
}

fn truncate(text: &str) -> String {
    if text.chars().count() > 80 {
        let mut t: String = text.chars().take(80).collect();
        t.push_str("...");
        t
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transform_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Transform>();
    }
}
