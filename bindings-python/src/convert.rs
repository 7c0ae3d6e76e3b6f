//! Argument conversion shared by every class: numbers ([`Int`], [`Seconds`]) judged with the same
//! codes and bounds as the Node binding, and JSON values to Python objects, directly (`pythonize`
//! goes through serde's generic machinery; claims are converted on every token verification, and
//! building the dict is most of the time the Python side spends there).

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Value};

pub fn value<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    match v {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)
            }
        }
        Value::String(s) => s.as_str().into_bound_py_any(py),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(value(py, item)?)?;
            }
            Ok(list.into_any())
        }
        Value::Object(m) => object(py, m).map(Bound::into_any),
    }
}

pub fn object<'py>(py: Python<'py>, m: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in m {
        dict.set_item(k.as_str(), value(py, v)?)?;
    }
    Ok(dict)
}

/// Upper bound for durations and counts in seconds (about 34 years), as in the Node binding; the
/// core narrows each further.
pub const MAX_SECONDS: u64 = 1 << 30;
/// Upper bound for `now=` and `after_step=` (seconds since the epoch, or time steps), as in Node.
pub const MAX_TIME: u64 = 1 << 40;
/// Upper bound for the argon2 parameters (`u32`), as in Node.
pub const MAX_U32: u64 = u32::MAX as u64;

fn refused(input: bool, rule: &str, why: &str) -> PyErr {
    let e = if input {
        polyauth_core::Error::InvalidInput(format!("an argument must be {rule} ({why})"))
    } else {
        polyauth_core::Error::InvalidConfig(format!("a setting must be {rule} ({why})"))
    };
    Python::attach(|py| crate::errors::to_py(py, e))
}

/// Reads an `int` in `0..=max`. PyO3's own `u64`/`i64` extraction raises `OverflowError` for a
/// negative or huge int and `TypeError` for a float or a str, and takes `True` as 1; here every
/// wrong value is `InvalidConfigError` (a setting) or `InvalidInputError` (a per-call argument),
/// with the same bounds and codes as the Node binding.
fn whole<T: TryFrom<u64>>(obj: &Bound<'_, PyAny>, input: bool, max: u64) -> PyResult<T> {
    let rule = format!("a whole number from 0 to {max}");
    if obj.is_instance_of::<PyBool>() {
        return Err(refused(input, &rule, "got a bool"));
    }
    if !obj.is_instance_of::<PyInt>() && obj.hasattr("__index__").ok() != Some(true) {
        return Err(refused(input, &rule, "not an int"));
    }
    let v = match obj.extract::<i64>() {
        Ok(v) => v,
        Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
            return Err(refused(input, &rule, "out of range"))
        }
        Err(_) => return Err(refused(input, &rule, "not an int")),
    };
    match u64::try_from(v) {
        Ok(u) if u <= max => T::try_from(u).map_err(|_| refused(input, &rule, "out of range")),
        _ => Err(refused(input, &rule, "out of range")),
    }
}

/// `#[pyo3(from_py_with = setting::<T, MAX>)]`: a constructor option, an `int` in `0..=MAX`,
/// else `InvalidConfigError` (never `OverflowError` or `TypeError`; `True` is not 1).
pub fn setting<T: TryFrom<u64>, const MAX: u64>(obj: &Bound<'_, PyAny>) -> PyResult<T> {
    whole(obj, false, MAX)
}

/// `#[pyo3(from_py_with = arg::<T, MAX>)]`: a per-call argument, an `int` in `0..=MAX`, else
/// `InvalidInputError`.
pub fn arg<T: TryFrom<u64>, const MAX: u64>(obj: &Bound<'_, PyAny>) -> PyResult<T> {
    whole(obj, true, MAX)
}

/// The injected clock of a call (`now=`, seconds since the epoch, read with
/// `opt_arg::<i64, MAX_TIME>`), or the system clock.
pub(crate) fn now_or(now: Option<i64>) -> i64 {
    now.unwrap_or_else(polyauth_core::token::now)
}

/// [`arg`] for an optional argument: `None` stays `None` (the default: e.g. the current time).
pub fn opt_arg<T: TryFrom<u64>, const MAX: u64>(obj: &Bound<'_, PyAny>) -> PyResult<Option<T>> {
    if obj.is_none() {
        return Ok(None);
    }
    whole(obj, true, MAX).map(Some)
}

fn seconds(obj: &Bound<'_, PyAny>, input: bool) -> PyResult<f64> {
    let rule = "a finite number of seconds, 0 or more";
    if obj.is_instance_of::<PyBool>() {
        return Err(refused(input, rule, "got a bool"));
    }
    if !(obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>()) {
        return Err(refused(input, rule, "not a number"));
    }
    match obj.extract::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        // NaN, an infinity, a negative number, or an int too large for a float.
        _ => Err(refused(input, rule, "out of range")),
    }
}

/// `#[pyo3(from_py_with = seconds_setting)]`: a duration that may be fractional (an `int` or a
/// `float`, not a `bool`), finite and not negative, else `InvalidConfigError`.
pub fn seconds_setting(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    seconds(obj, false)
}

/// [`seconds_setting`] for a per-call argument: `InvalidInputError`.
pub fn seconds_arg(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    seconds(obj, true)
}

pub(crate) fn none(py: Python<'_>, _: ()) -> PyResult<Bound<'_, PyAny>> {
    Ok(py.None().into_bound(py))
}

pub(crate) fn plain<'py, T>(py: Python<'py>, v: T) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a>,
{
    v.into_bound_py_any(py)
}

pub(crate) fn map_arg(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Map<String, Value>> {
    match obj {
        None => Ok(Map::new()),
        Some(o) if o.is_none() => Ok(Map::new()),
        Some(o) => match pythonize::depythonize::<Value>(o) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(PyTypeError::new_err(format!(
                "{what} must be a JSON-compatible dict"
            ))),
        },
    }
}

/// A `str` argument. One with lone surrogates cannot be UTF-8 and is `InvalidInputError`, as in
/// `PasswordHasher`, rather than a bare `UnicodeEncodeError`.
pub(crate) fn str_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = obj
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str")))?;
    s.to_cow().map(|c| c.into_owned()).map_err(|_| {
        crate::errors::to_py(
            obj.py(),
            polyauth_core::Error::InvalidInput(format!("{what} is not well-formed Unicode")),
        )
    })
}

pub(crate) fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    value(py, v)
}
