//! The bridge from Rust futures to JavaScript promises.
//!
//! napi-rs's `async fn` creates a threadsafe function, an environment cleanup hook and a
//! reference to `this` for every call, and wakes the event loop once per result. Here every
//! environment (the main thread, each worker) has one threadsafe function and one completion
//! queue: a runtime thread pushes the finished work and calls the threadsafe function only when
//! the queue was empty; the JavaScript thread converts and settles everything queued in one call.
//! The same design as the Python binding's bridge (bindings-python/src/asyncio.rs).
//!
//! The threadsafe function is referenced (keeps the event loop alive) exactly while calls are in
//! flight, so a pending polyauth promise keeps the process running and an idle addon does not.

use std::cell::RefCell;
use std::ffi::c_void;
use std::future::Future;
use std::ptr;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{sys, Env, JsError};

use crate::errors::to_napi;

/// Finished work, settled on the JavaScript thread of its environment.
type Done = Box<dyn FnOnce(sys::napi_env) + Send>;

struct Queue {
    ready: Vec<Done>,
    /// The environment is being torn down: the threadsafe function must not be called again.
    closed: bool,
}

struct Completions {
    queue: Mutex<Queue>,
    tsfn: sys::napi_threadsafe_function,
}

// SAFETY: a threadsafe function may be called from any thread (that is its purpose); it is only
// called while `closed` is false, checked under the queue's lock, which the environment's cleanup
// hook takes to set it before Node finalizes the function.
unsafe impl Send for Completions {}
unsafe impl Sync for Completions {}

impl Completions {
    fn push(&self, done: Done) {
        let Ok(mut q) = self.queue.lock() else { return };
        if q.closed {
            return;
        }
        q.ready.push(done);
        if q.ready.len() == 1 {
            // Non-blocking, unbounded queue: never waits. A failure means the environment is
            // closing, where nothing will read the result anyway.
            unsafe {
                sys::napi_call_threadsafe_function(
                    self.tsfn,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                );
            }
        }
    }
}

/// What the JavaScript thread of one environment knows: its queue and the calls in flight.
struct Local {
    env: sys::napi_env,
    completions: Arc<Completions>,
    in_flight: usize,
}

thread_local! {
    static LOCAL: RefCell<Option<Local>> = const { RefCell::new(None) };
}

/// Runs `fut` on the runtime and returns a promise settled with its result (converted on the
/// JavaScript thread) or rejected with its error (`PolyauthError` after the TypeScript layer).
pub fn promise<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = napi::Result<T>> + Send + 'static,
{
    let raw_env = env.raw();
    let completions = enter(raw_env)?;
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    napi::check_status!(unsafe { sys::napi_create_promise(raw_env, &mut deferred, &mut promise) })?;
    let deferred = Deferred(deferred);
    napi::bindgen_prelude::spawn(async move {
        // A panic inside `fut` surfaces as internal_error (caught around each poll of this task).
        let outcome = polyauth_core::catch_unwind_async(fut)
            .await
            .unwrap_or_else(|p| Err(to_napi(polyauth_core::Error::from_panic(p))));
        completions.push(Box::new(move |env| settle(env, deferred, outcome)));
    });
    Ok(PromiseRaw::new(raw_env, promise))
}

/// A promise's resolver: created and used on the JavaScript thread only; it travels through the
/// runtime as an opaque value.
struct Deferred(sys::napi_deferred);

// SAFETY: only dereferenced by Node on the JavaScript thread, in `settle`.
unsafe impl Send for Deferred {}

fn settle<T: ToNapiValue>(env: sys::napi_env, deferred: Deferred, outcome: napi::Result<T>) {
    unsafe {
        let value = outcome.and_then(|v| T::to_napi_value(env, v));
        match value {
            Ok(v) => sys::napi_resolve_deferred(env, deferred.0, v),
            Err(e) => sys::napi_reject_deferred(env, deferred.0, JsError::from(e).into_value(env)),
        };
    }
}

/// The queue of this thread's environment (created on first use), with one more call counted in
/// flight.
fn enter(env: sys::napi_env) -> napi::Result<Arc<Completions>> {
    LOCAL.with_borrow_mut(|local| {
        if local.as_ref().is_none_or(|l| l.env != env) {
            *local = Some(Local {
                env,
                completions: create(env)?,
                in_flight: 0,
            });
        }
        let Some(l) = local.as_mut() else {
            unreachable!("set above")
        };
        if l.in_flight == 0 {
            unsafe { sys::napi_ref_threadsafe_function(env, l.completions.tsfn) };
        }
        l.in_flight += 1;
        Ok(Arc::clone(&l.completions))
    })
}

fn create(env: sys::napi_env) -> napi::Result<Arc<Completions>> {
    let mut name = ptr::null_mut();
    let label = "polyauth";
    napi::check_status!(unsafe {
        sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name)
    })?;
    // The context outlives the function: it is released in `finalize`.
    let holder = Box::into_raw(Box::new(Holder(None)));
    let mut tsfn = ptr::null_mut();
    let status = unsafe {
        sys::napi_create_threadsafe_function(
            env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            holder.cast(),
            Some(finalize),
            holder.cast(),
            Some(drain),
            &mut tsfn,
        )
    };
    if status != sys::Status::napi_ok {
        drop(unsafe { Box::from_raw(holder) });
        return Err(napi::Error::new(
            napi::Status::GenericFailure,
            "cannot create the completion function",
        ));
    }
    let completions = Arc::new(Completions {
        queue: Mutex::new(Queue {
            ready: Vec::new(),
            closed: false,
        }),
        tsfn,
    });
    unsafe {
        (*holder).0 = Some(Arc::clone(&completions));
        // Idle until a call is in flight (see `enter`).
        sys::napi_unref_threadsafe_function(env, tsfn);
        // Hooks run in reverse order of registration: this one runs before Node tears the
        // threadsafe function down, and stops runtime threads from calling it.
        sys::napi_add_env_cleanup_hook(env, Some(close), holder.cast());
    }
    Ok(completions)
}

/// The threadsafe function's context: the queue it drains.
struct Holder(Option<Arc<Completions>>);

unsafe extern "C" fn close(data: *mut c_void) {
    let holder = unsafe { &*(data as *const Holder) };
    if let Some(c) = &holder.0 {
        if let Ok(mut q) = c.queue.lock() {
            q.closed = true;
            q.ready.clear();
        }
    }
    LOCAL.with_borrow_mut(|local| *local = None);
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(unsafe { Box::from_raw(data as *mut Holder) });
}

/// Settles everything queued so far (on the JavaScript thread, inside a handle scope Node opens).
unsafe extern "C" fn drain(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    // A null environment: the function is being torn down with calls still queued.
    if env.is_null() || context.is_null() {
        return;
    }
    let holder = unsafe { &*(context as *const Holder) };
    let Some(completions) = &holder.0 else { return };
    let ready = match completions.queue.lock() {
        Ok(mut q) => std::mem::take(&mut q.ready),
        Err(_) => return,
    };
    let settled = ready.len();
    for done in ready {
        done(env);
    }
    LOCAL.with_borrow_mut(|local| {
        if let Some(l) = local.as_mut().filter(|l| l.env == env) {
            l.in_flight = l.in_flight.saturating_sub(settled);
            if l.in_flight == 0 {
                unsafe { sys::napi_unref_threadsafe_function(env, l.completions.tsfn) };
            }
        }
    });
}
