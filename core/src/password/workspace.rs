//! One argon2 block buffer per worker thread, reused across hashes and wiped after every use.
//! Allocating and faulting in 19 MiB per hash costs more than the memset that wiping takes.

use std::cell::RefCell;

use argon2::Block;
use zeroize::Zeroize;

/// Buffers above this size are not kept between calls: a thread that once verified a rare
/// 256 MiB hash should not hold 256 MiB for the rest of its life.
const MAX_RETAINED_BLOCKS: usize = 64 * 1024; // 64 MiB

thread_local! {
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn with_blocks<R>(count: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    if count > MAX_RETAINED_BLOCKS {
        let mut mem = vec![Block::default(); count];
        let r = f(&mut mem);
        wipe(&mut mem);
        return r;
    }
    BLOCKS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut mem) => {
            if mem.len() < count {
                mem.resize(count, Block::default());
            }
            let r = f(&mut mem[..count]);
            wipe(&mut mem[..count]);
            r
        }
        // Re-entered on the same thread (cannot happen through our API): use a private buffer.
        Err(_) => {
            let mut mem = vec![Block::default(); count];
            let r = f(&mut mem);
            wipe(&mut mem);
            r
        }
    })
}

fn wipe(mem: &mut [Block]) {
    mem.iter_mut().for_each(Zeroize::zeroize);
}
