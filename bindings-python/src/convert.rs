//! Argument conversion shared by every class: numbers ([`Int`], [`Seconds`]) judged with the same
//! codes and bounds as the Node binding, and JSON values to Python objects, directly (`pythonize`
//! goes through serde's generic machinery; claims are converted on every token verification, and
//! building the dict is most of the time the Python side spends there).

use polyauth_core::options::{Arg, Role};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use pyo3::IntoPyObjectExt;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

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
        dict.set_item(key(py, k), value(py, v)?)?;
    }
    Ok(dict)
}

/// A dict key: the registered JWT claim names, the JOSE header names and the claims polyauth
/// issues are interned once (no new str, and its hash already computed, on every verification).
fn key<'py>(py: Python<'py>, k: &str) -> Bound<'py, PyString> {
    macro_rules! interned {
        ($($name:literal),* $(,)?) => {
            match k {
                $($name => pyo3::intern!(py, $name).clone(),)*
                _ => PyString::new(py, k),
            }
        };
    }
    interned!(
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "scope",
        "sid",
        "amr",
        "roles",
        "auth_time",
        "acr",
        "azp",
        "client_id",
        "permissions",
        "alg",
        "kid",
        "typ",
        "crit",
    )
}

// The bounds are the core's (`polyauth_core::options`), shared with the Node binding.
pub use polyauth_core::options::{MAX_SECONDS, MAX_TIME};

/// A Python value as `polyauth_core::options` judges it: converted, never judged here.
pub fn to_arg(obj: &Bound<'_, PyAny>) -> Arg {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Arg::Bool(b.is_true());
    }
    if obj.is_instance_of::<PyFloat>() {
        return obj
            .extract::<f64>()
            .map_or(Arg::Other("float".into()), Arg::Float);
    }
    if obj.is_instance_of::<PyInt>() || obj.hasattr("__index__").ok() == Some(true) {
        return match obj.extract::<i128>() {
            Ok(i) => Arg::Int(i),
            Err(_) => Arg::Other("huge int".into()),
        };
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return s
            .to_cow()
            .map_or(Arg::BadText, |c| Arg::Text(c.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Arg::Bytes(Zeroizing::new(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Arg::Bytes(Zeroizing::new(b.to_vec()));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        if let Ok(items) = obj.try_iter() {
            return Arg::List(
                items
                    .map(|i| i.map_or(Arg::Other("?".into()), |i| to_arg(&i)))
                    .collect(),
            );
        }
    }
    Arg::Other(
        obj.get_type()
            .name()
            .map_or_else(|_| "value".to_owned(), |n| n.to_string()),
    )
}

/// The options a constructor received as keyword arguments (`None` is absent: the core's
/// default), for `polyauth_core::options`: `options!("Throttle"; free_attempts, base_delay)`
/// with each name an `Option<&Bound<PyAny>>` parameter of the same name.
macro_rules! options {
    ($what:literal; $($name:ident),* $(,)?) => {{
        let mut o = polyauth_core::options::Options::new($what, polyauth_core::options::Case::Snake);
        $(
            if let Some(v) = $name {
                if !v.is_none() {
                    o.push(stringify!($name), $crate::convert::to_arg(v));
                }
            }
        )*
        o
    }};
}
pub(crate) use options;

/// Every option default of the core, by type and name (`_native.pyi` is checked against it).
#[pyfunction]
pub fn option_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    value(py, &polyauth_core::options::defaults())
}

/// Reads an `int` in `0..=max` for a per-call argument, judged by the core: PyO3's own
/// `u64`/`i64` extraction raises `OverflowError` for a negative or huge int and `TypeError` for a
/// float or a str, and takes `True` as 1; here every wrong value is `InvalidInputError`, with the
/// same bounds and code as the Node binding.
fn whole<T: TryFrom<i128>>(obj: &Bound<'_, PyAny>, max: u64) -> PyResult<T> {
    polyauth_core::options::whole(&to_arg(obj), "an argument", 0..=max as i128, Role::Input)
        .map_err(|e| Python::attach(|py| crate::errors::to_py(py, e)))
}

/// The injected clock of a call (`now=`, seconds since the epoch, read with
/// `opt_arg::<i64, MAX_TIME>`), or the system clock.
pub(crate) fn now_or(now: Option<i64>) -> i64 {
    now.unwrap_or_else(polyauth_core::token::now)
}

/// A per-call whole number in `0..=MAX`, or `None` (the default: e.g. the current time).
pub fn opt_arg<T: TryFrom<i128>, const MAX: u64>(obj: &Bound<'_, PyAny>) -> PyResult<Option<T>> {
    if obj.is_none() {
        return Ok(None);
    }
    whole(obj, MAX).map(Some)
}

/// `#[pyo3(from_py_with = seconds_arg)]`: a per-call duration that may be fractional (an `int`
/// or a `float`, not a `bool`), finite and not negative, else `InvalidInputError`.
pub fn seconds_arg(obj: &Bound<'_, PyAny>) -> PyResult<f64> {
    polyauth_core::options::seconds(&to_arg(obj), "an argument", f64::MAX, Role::Input)
        .map_err(|e| Python::attach(|py| crate::errors::to_py(py, e)))
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
