//! The bridge from Rust futures to asyncio awaitables.
//!
//! A call returns an asyncio Future of the running loop and runs its work on the polyauth
//! runtime. The finished work goes into the loop's completion queue ([`Completions`]); the loop's
//! own thread converts the result and resolves the Future when it next polls, under the GIL it
//! holds anyway, so runtime threads never take the GIL for a plain call. (pyo3-async-runtimes,
//! which DESIGN.md §2 names, resolves from the runtime thread under the GIL: it doubled the CPU of
//! a call under load, and it takes the GIL while the interpreter may be finalizing, which aborts
//! short scripts at exit: its issue #40, seen in about 40% of runs of the demo.)
//!
//! Work that calls back into Python (an application's account source, `SignIn`) is started with
//! [`spawn_calling_python`]: its task carries a [`CallContext`] (a tokio task-local) with the
//! event loop of the call, on which awaitables returned by the application run, and the
//! exception an application method raised, attached as `__cause__` of the error the call
//! raises. Those tasks take the GIL while they run (to call the application), so every task is
//! counted in flight and an `atexit` hook (`_drain`, registered by `polyauth/__init__.py`) waits
//! for them before finalization starts.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::errors::to_py;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .clamp(2, 8),
            )
            .thread_name("polyauth-io")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the polyauth I/O runtime: {e}"))
    })
}

tokio::task_local! {
    static CALL: Arc<CallContext>;
}

/// What a task started by [`spawn_calling_python`] knows about the Python call that started it.
pub struct CallContext {
    /// The running event loop of the call (awaitables of the application run there).
    pub event_loop: Py<PyAny>,
    /// The exception an application method raised, with the message of the core error it
    /// became (`store_unavailable`): it becomes that error's `__cause__`.
    cause: Mutex<Option<(String, PyErr)>>,
}

impl CallContext {
    /// The context of the current task, when it was started by [`spawn_calling_python`].
    pub fn current() -> Option<Arc<CallContext>> {
        CALL.try_with(Arc::clone).ok()
    }

    /// Records `cause` as the origin of the core error whose message is `message`.
    pub fn set_cause(&self, message: String, cause: PyErr) {
        if let Ok(mut slot) = self.cause.lock() {
            *slot = Some((message, cause));
        }
    }

    /// The recorded cause, when `message` is the message of the error it was recorded for.
    fn take_cause(&self, message: &str) -> Option<PyErr> {
        let mut slot = self.cause.lock().ok()?;
        match slot.take() {
            Some((m, e)) if m == message => Some(e),
            _ => None,
        }
    }
}

/// Runs `fut` on the polyauth runtime and returns an asyncio Future for its result, converted
/// with `convert` under the GIL.
pub fn spawn<'py, T, F, C>(py: Python<'py>, fut: F, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    launch(py, fut, convert, false)
}

/// [`spawn`] for work that calls back into Python: the task carries a [`CallContext`].
pub fn spawn_calling_python<'py, T, F, C>(
    py: Python<'py>,
    fut: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    launch(py, fut, convert, true)
}

fn launch<'py, T, F, C>(
    py: Python<'py>,
    fut: F,
    convert: C,
    with_context: bool,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = polyauth_core::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let event_loop = get_running_loop(py)?.call0()?;
    let py_future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let completions = completions_of(&event_loop)?;
    let context = with_context.then(|| {
        Arc::new(CallContext {
            event_loop: event_loop.clone().unbind(),
            cause: Mutex::new(None),
        })
    });
    let future = py_future.clone().unbind();
    IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
    runtime().spawn(async move {
        // A panic inside `fut` surfaces as internal_error. It is caught around each poll of this
        // one task (not by awaiting a second, spawned task: that costs a task, a wake-up and
        // often a hop between runtime threads per call).
        let caught = match &context {
            Some(c) => polyauth_core::catch_unwind_async(CALL.scope(Arc::clone(c), fut)).await,
            None => polyauth_core::catch_unwind_async(fut).await,
        };
        let outcome = caught.unwrap_or_else(|p| Err(polyauth_core::Error::from_panic(p)));
        // Converted and resolved on the loop's thread, which holds the GIL already: this
        // thread never waits for the GIL (see `Completions`).
        completions.push(Box::new(move |py: Python<'_>| {
            let raised = |e: polyauth_core::Error| {
                let message = e.to_string();
                let err = to_py(py, e);
                if let Some(cause) = context.as_ref().and_then(|c| c.take_cause(&message)) {
                    err.set_cause(py, Some(cause));
                }
                err
            };
            let result = outcome.map_err(raised).and_then(|v| convert(py, v));
            let future = future.bind(py);
            // The awaiting task may have been cancelled while the work ran.
            if future
                .call_method0(pyo3::intern!(py, "done"))
                .and_then(|d| d.is_truthy())
                .unwrap_or(true)
            {
                return;
            }
            let _ = match result {
                Ok(v) => future.call_method1(pyo3::intern!(py, "set_result"), (v,)),
                Err(e) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (e.into_value(py),))
                }
            };
        }));
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    });
    Ok(py_future)
}

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn get_running_loop(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("asyncio")?.getattr("get_running_loop")?.unbind())
        })
        .map(|f| f.bind(py))
}

/// Work finished on the runtime, waiting to be resolved on its event loop's thread.
type Done = Box<dyn for<'a> FnOnce(Python<'a>) + Send>;

/// The finished work of one event loop. A runtime thread pushes onto the queue and wakes the loop
/// only when the queue was empty; the loop's thread drains everything pushed so far in one call,
/// under the GIL it holds anyway. Taking the GIL on a runtime thread instead (as
/// pyo3-async-runtimes does) makes every completion wait for the interpreter's switch interval
/// or force the loop's thread off the GIL: twice the CPU of the Node binding per call under load.
pub struct Completions {
    queue: Mutex<Vec<Done>>,
    wake: Wake,
}

enum Wake {
    /// A socket pair: the loop watches the read end with `add_reader`.
    #[cfg(unix)]
    Socket {
        writer: std::os::unix::net::UnixStream,
        reader: std::os::unix::net::UnixStream,
    },
    /// Loops without `add_reader` (Windows' proactor): `call_soon_threadsafe` under the GIL.
    Threadsafe { event_loop: Py<PyAny> },
}

impl Completions {
    fn push(self: &Arc<Self>, done: Done) {
        let was_empty = match self.queue.lock() {
            Ok(mut q) => {
                q.push(done);
                q.len() == 1
            }
            Err(_) => return,
        };
        if !was_empty {
            return;
        }
        match &self.wake {
            #[cfg(unix)]
            Wake::Socket { writer, .. } => {
                use std::io::Write;
                // A full socket already holds a wake-up byte: nothing is lost.
                let _ = (&*writer).write(&[1]);
            }
            Wake::Threadsafe { event_loop } => Python::attach(|py| {
                // A closed loop raises here: nothing is waiting then.
                if let Ok(drain) = Py::new(py, _Completions(Arc::clone(self))) {
                    let _ = event_loop.call_method1(py, "call_soon_threadsafe", (drain,));
                }
            }),
        }
    }

    fn drain(&self, py: Python<'_>) {
        // The wake-up bytes first, then the queue: a push after the swap writes a new byte.
        #[cfg(unix)]
        if let Wake::Socket { reader, .. } = &self.wake {
            use std::io::Read;
            let mut buf = [0u8; 256];
            while matches!((&*reader).read(&mut buf), Ok(n) if n > 0) {}
        }
        let ready = match self.queue.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        for done in ready {
            done(py);
        }
    }
}

/// The `add_reader` / `call_soon_threadsafe` callback of one loop's [`Completions`].
#[pyclass(frozen, module = "polyauth._native")]
pub struct _Completions(Arc<Completions>);

#[pymethods]
impl _Completions {
    fn __call__(&self, py: Python<'_>) {
        self.0.drain(py);
    }
}

thread_local! {
    /// The event loops this thread ran polyauth calls on, with their completion queues (normally
    /// one; closed loops are dropped when another one appears).
    static LOOPS: std::cell::RefCell<Vec<(Py<PyAny>, Arc<Completions>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn completions_of(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Completions>> {
    let known = LOOPS.with_borrow(|loops| {
        loops
            .iter()
            .find(|(l, _)| l.is(event_loop))
            .map(|(_, c)| Arc::clone(c))
    });
    if let Some(c) = known {
        return Ok(c);
    }
    let py = event_loop.py();
    let completions = watch(event_loop)?;
    LOOPS.with_borrow_mut(|loops| {
        loops.retain(|(l, _)| {
            !l.bind(py)
                .call_method0("is_closed")
                .and_then(|c| c.is_truthy())
                .unwrap_or(true)
        });
        loops.push((event_loop.clone().unbind(), Arc::clone(&completions)));
    });
    Ok(completions)
}

/// A completion queue for `event_loop`, with its wake-up registered on the loop.
fn watch(event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Completions>> {
    let py = event_loop.py();
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let pair = std::os::unix::net::UnixStream::pair().and_then(|(writer, reader)| {
            writer.set_nonblocking(true)?;
            reader.set_nonblocking(true)?;
            Ok((writer, reader))
        });
        let (writer, reader) = pair.map_err(|e| {
            to_py(
                py,
                polyauth_core::Error::Internal(format!("cannot create a wake-up socket: {e}")),
            )
        })?;
        let fd = reader.as_raw_fd();
        let completions = Arc::new(Completions {
            queue: Mutex::new(Vec::new()),
            wake: Wake::Socket { writer, reader },
        });
        let callback = Py::new(py, _Completions(Arc::clone(&completions)))?;
        match event_loop.call_method1("add_reader", (fd, callback)) {
            Ok(_) => return Ok(completions),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyNotImplementedError>(py) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Arc::new(Completions {
        queue: Mutex::new(Vec::new()),
        wake: Wake::Threadsafe {
            event_loop: event_loop.clone().unbind(),
        },
    }))
}

/// Waits (with the GIL released) until no task is in flight, at most `timeout` seconds.
/// Registered with `atexit` so that finalization never races a task taking the GIL.
#[pyfunction]
#[pyo3(signature = (timeout=5.0))]
pub fn _drain(
    py: Python<'_>,
    // NaN, an infinity or a negative number is `InvalidInputError` (`Duration` would panic).
    #[pyo3(from_py_with = crate::convert::seconds_arg)] timeout: f64,
) -> PyResult<bool> {
    let deadline = Instant::now() + Duration::from_secs_f64(timeout.min(60.0));
    Ok(py.detach(|| {
        while IN_FLIGHT.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }))
}
