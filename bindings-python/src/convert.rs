//! Argument conversion shared by every class: numbers ([`Int`], [`Seconds`]) judged with the same
//! codes and bounds as the Node binding, and JSON values to Python objects, directly (`pythonize`
//! goes through serde's generic machinery; claims are converted on every token verification, and
//! building the dict is most of the time the Python side spends there).

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList};
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
/// Upper bound for `now=` and `after_step=` (seconds since the epoch, or time steps).
pub const MAX_TIME: u64 = 1 << 40;

/// Why a number argument was refused: judged where its name is known ([`Int::setting`],
/// [`Int::arg`]).
#[derive(Clone, Copy)]
enum Bad {
    /// Not an `int` (a float, a str, None, ...) or a `bool`.
    Type,
    /// An `int` outside `i64`.
    Range,
}

fn refused(input: bool, what: &str, rule: &str) -> PyErr {
    let message = format!("{what} must be {rule}");
    let e = if input {
        polyauth_core::Error::InvalidInput(message)
    } else {
        polyauth_core::Error::InvalidConfig(message)
    };
    Python::attach(|py| crate::errors::to_py(py, e))
}

/// An integer argument as Python passed it. PyO3's own `u64`/`i64` extraction raises
/// `OverflowError` for a negative or huge int and `TypeError` for a float or str, and takes `True`
/// as 1; this one refuses `bool` and anything but an `int`, and leaves the verdict to the call site
/// so that every wrong value is `InvalidConfigError` (a setting) or `InvalidInputError` (a per-call
/// argument) with the argument's name, the same codes and bounds as the Node binding.
#[derive(Clone, Copy)]
pub struct Int(Result<i64, Bad>);

impl Int {
    /// A default value.
    pub const fn of(v: i64) -> Int {
        Int(Ok(v))
    }

    fn checked(self, input: bool, what: &str, max: u64) -> PyResult<u64> {
        match self.0 {
            Ok(v) if v >= 0 && v as u64 <= max => Ok(v as u64),
            _ => Err(refused(
                input,
                what,
                &format!("a whole number from 0 to {max}"),
            )),
        }
    }

    /// A setting (constructor option) in `0..=max`, else `InvalidConfigError`.
    pub fn setting(self, what: &str, max: u64) -> PyResult<u64> {
        self.checked(false, what, max)
    }

    /// A per-call argument in `0..=max`, else `InvalidInputError`.
    pub fn arg(self, what: &str, max: u64) -> PyResult<u64> {
        self.checked(true, what, max)
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
            return Ok(Int(Err(Bad::Type)));
        }
        match obj.extract::<i64>() {
            Ok(v) => Ok(Int(Ok(v))),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => Ok(Int(Err(Bad::Range))),
            Err(_) => Ok(Int(Err(Bad::Type))),
        }
    }
}

/// A duration in seconds that may be fractional (`RemoteKeySet(timeout=)`, `_drain(timeout)`):
/// an `int` or a `float`, never a `bool`; judged at the call site like [`Int`].
#[derive(Clone, Copy)]
pub struct Seconds(Option<f64>);

impl Seconds {
    /// A default value.
    pub const fn of(v: f64) -> Seconds {
        Seconds(Some(v))
    }

    fn checked(self, input: bool, what: &str) -> PyResult<f64> {
        match self.0 {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(refused(
                input,
                what,
                "a finite number of seconds, 0 or more",
            )),
        }
    }

    /// A setting: finite and not negative, else `InvalidConfigError`.
    pub fn setting(self, what: &str) -> PyResult<f64> {
        self.checked(false, what)
    }

    /// A per-call argument: finite and not negative, else `InvalidInputError`.
    pub fn arg(self, what: &str) -> PyResult<f64> {
        self.checked(true, what)
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Seconds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>()
            || !(obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>())
        {
            return Ok(Seconds(None));
        }
        // A huge int does not fit a float: refused like NaN.
        Ok(Seconds(obj.extract::<f64>().ok()))
    }
}
