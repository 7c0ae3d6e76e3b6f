//! Maps `polyauth_core::Error` to the exception classes defined in `polyauth/errors.py`.

use polyauth_core::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

static BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// Builds the Python exception for a core error: `polyauth.errors.<Class>(message)` with `.code`
/// (a class attribute) and, for `rate_limited`, `.retry_after`.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let table = BY_CODE.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let module = py.import("polyauth.errors")?;
        Ok(module.getattr("_BY_CODE")?.cast_into::<PyDict>()?.unbind())
    });
    let class = match table.and_then(|t| t.bind(py).get_item(e.code())) {
        Ok(Some(class)) => class,
        // The pure-Python layer is missing or broken: still raise, with the code in the text.
        _ => return PyRuntimeError::new_err(format!("[{}] {}", e.code(), e)),
    };
    match class.call1((e.to_string(),)) {
        Ok(instance) => {
            if let Some(secs) = e.retry_after() {
                if let Err(err) = instance.setattr("retry_after", secs) {
                    return err;
                }
            }
            if let Error::PasswordPolicy(reasons) = &e {
                if let Err(err) = instance.setattr("reasons", reasons.clone()) {
                    return err;
                }
            }
            PyErr::from_value(instance)
        }
        Err(err) => err,
    }
}

/// Runs core work with panics caught, mapping the error (the GIL is held; use for cheap calls).
pub fn run<T>(f: impl FnOnce() -> polyauth_core::Result<T>) -> PyResult<T> {
    polyauth_core::catch_panic(f).map_err(|e| Python::attach(|py| to_py(py, e)))
}

/// Runs CPU-heavy core work with the GIL released and panics caught.
pub fn run_detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> polyauth_core::Result<T> + Send,
) -> PyResult<T> {
    py.detach(|| polyauth_core::catch_panic(f))
        .map_err(|e| to_py(py, e))
}
