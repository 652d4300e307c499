//! The session's open files and directories, behind opaque handle strings.
//!
//! A handle is 8 bytes: the slot index and the slot's generation, so a stale handle of a
//! closed and reused slot is rejected rather than silently naming another file.

use wharf_vfs::{DirEntry, VPath, VfsDir, VfsFile};

/// At most this many handles are open per session (OpenSSH bounds by its fd limit instead);
/// announced in `limits@openssh.com`.
pub(crate) const MAX_HANDLES: usize = 256;

const HANDLE_LEN: usize = 8;

#[derive(Debug)]
pub(crate) enum Handle {
    File(FileHandle),
    Dir(DirHandle),
}

#[derive(Debug)]
pub(crate) struct FileHandle {
    pub(crate) file: Box<dyn VfsFile>,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// v6 DELETE_ON_CLOSE: the path removed when the handle is closed.
    pub(crate) delete_on_close: Option<VPath>,
    /// v6 BLOCK ranges `(offset, length)` granted on this handle: advisory and local to the
    /// session (see the engine's BLOCK handler).
    pub(crate) locks: Vec<(u64, u64)>,
    /// Opened in text mode (v4 TEXT, v5+ TEXT_MODE): READ and WRITE ignore their offsets and
    /// continue from here.
    pub(crate) text_pos: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct DirHandle {
    pub(crate) dir: Box<dyn VfsDir>,
    /// Entries read from the backend but not yet sent.
    pub(crate) pending: Vec<DirEntry>,
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    handle: Option<Handle>,
}

#[derive(Debug, Default)]
pub(crate) struct HandleTable {
    slots: Vec<Slot>,
    open: usize,
}

impl HandleTable {
    /// Stores `handle` and returns its wire form, or gives it back if the table is full.
    pub(crate) fn insert(&mut self, handle: Handle) -> Result<[u8; HANDLE_LEN], Handle> {
        let index = match self.slots.iter().position(|slot| slot.handle.is_none()) {
            Some(index) => index,
            None if self.slots.len() < MAX_HANDLES => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
            None => return Err(handle),
        };
        let Some(slot) = self.slots.get_mut(index) else {
            return Err(handle);
        };
        slot.generation = slot.generation.wrapping_add(1);
        slot.handle = Some(handle);
        self.open += 1;
        let mut wire = [0u8; HANDLE_LEN];
        let (index_bytes, generation_bytes) = wire.split_at_mut(4);
        // MAX_HANDLES fits in a u32.
        index_bytes.copy_from_slice(&u32::try_from(index).unwrap_or(u32::MAX).to_be_bytes());
        generation_bytes.copy_from_slice(&slot.generation.to_be_bytes());
        Ok(wire)
    }

    pub(crate) fn get(&self, wire: &[u8]) -> Option<&Handle> {
        let index = self.lookup(wire)?;
        self.slots.get(index)?.handle.as_ref()
    }

    pub(crate) fn get_mut(&mut self, wire: &[u8]) -> Option<&mut Handle> {
        let index = self.lookup(wire)?;
        self.slots.get_mut(index)?.handle.as_mut()
    }

    pub(crate) fn remove(&mut self, wire: &[u8]) -> Option<Handle> {
        let index = self.lookup(wire)?;
        let handle = self.slots.get_mut(index)?.handle.take()?;
        self.open -= 1;
        Some(handle)
    }

    pub(crate) fn len(&self) -> usize {
        self.open
    }

    fn lookup(&self, wire: &[u8]) -> Option<usize> {
        let wire: [u8; HANDLE_LEN] = wire.try_into().ok()?;
        let (index_bytes, generation_bytes) = wire.split_at(4);
        let index = usize::try_from(u32::from_be_bytes(index_bytes.try_into().ok()?)).ok()?;
        let generation = u32::from_be_bytes(generation_bytes.try_into().ok()?);
        let slot = self.slots.get(index)?;
        (slot.generation == generation && slot.handle.is_some()).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct NoDir;
    impl VfsDir for NoDir {
        fn read_batch(
            &mut self,
            _: &mut Vec<DirEntry>,
            _: usize,
        ) -> Result<(), wharf_vfs::VfsError> {
            Ok(())
        }
    }

    fn dir() -> Handle {
        Handle::Dir(DirHandle {
            dir: Box::new(NoDir),
            pending: Vec::new(),
        })
    }

    #[test]
    fn bounded_and_stale_handles_rejected() {
        let mut table = HandleTable::default();
        let mut wires = Vec::new();
        for _ in 0..MAX_HANDLES {
            wires.push(table.insert(dir()).unwrap());
        }
        assert!(table.insert(dir()).is_err());
        assert_eq!(table.len(), MAX_HANDLES);
        let first = wires[0];
        assert!(table.remove(&first).is_some());
        assert!(table.remove(&first).is_none());
        let reused = table.insert(dir()).unwrap();
        assert_ne!(reused, first, "a reused slot gets a new generation");
        assert!(table.get_mut(&first).is_none());
        assert!(table.get_mut(&reused).is_some());
        assert!(table.get_mut(b"short").is_none());
        assert!(table.get_mut(&[0xff; 8]).is_none());
    }
}
