//! A realm's store: which one it gets, and how retained events and history entries reach it
//! without the publish path waiting for the disk (what the realm loads from it at start is
//! in [`realm::storage`](crate::router::realm)).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use crate::config::{Config, RealmConfig, StoreConfig, default_store};
use crate::router::broker::{Audience, RetainedEvent, RetainedSink};
use crate::store::{
    AudienceRecord, EmbeddedStore, EventRecord, EventWrite, EventWriter, LateStore, MemoryStore,
    Store, lock_holder,
};

/// Where a realm's writer goes once its store is durable and open. Set once: at start, or
/// when a store another process held opens later.
pub type WriterSlot = OnceLock<Arc<EventWriter>>;

/// A realm's store, the writer that feeds it once it is durable and open, and why it is not
/// open yet (a store file another process holds, see `store_retry`).
pub struct RealmStorage {
    store: Arc<dyn Store>,
    writer: WriterSlot,
    /// The store that opens later, and why it has not yet (`None` once it is open).
    late: Option<(Arc<LateStore>, Mutex<Option<String>>)>,
}

impl RealmStorage {
    /// A fresh memory store: nothing survives the process.
    pub fn memory() -> RealmStorage {
        RealmStorage::new(Arc::new(MemoryStore::new()))
    }

    /// Uses `store`; its writer starts when the realm attaches it (see `Realm::open`).
    pub fn new(store: Arc<dyn Store>) -> RealmStorage {
        RealmStorage {
            store,
            writer: WriterSlot::new(),
            late: None,
        }
    }

    /// A store not open yet because of `why`: a memory store stands in until it is.
    pub fn late(store: Arc<LateStore>, why: String) -> RealmStorage {
        RealmStorage {
            store: Arc::clone(&store) as Arc<dyn Store>,
            writer: WriterSlot::new(),
            late: Some((store, Mutex::new(Some(why)))),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The writer, once the store is durable and open.
    pub fn writer(&self) -> Option<&EventWriter> {
        self.writer.get().map(|w| &**w)
    }

    pub(crate) fn writer_slot(&self) -> &WriterSlot {
        &self.writer
    }

    /// Why the store is not open yet, while it is not.
    pub fn waiting(&self) -> Option<String> {
        self.late.as_ref().and_then(|(_, why)| why.lock().clone())
    }

    /// The path of a store that opens late.
    pub fn late_path(&self) -> Option<&Path> {
        self.late.as_ref().map(|(store, _)| store.path())
    }

    /// Sets why the store is not open yet (`None`: it is open now).
    pub(crate) fn set_waiting(&self, why: Option<String>) {
        if let Some((_, waiting)) = &self.late {
            *waiting.lock() = why;
        }
    }

    /// Commits what is queued and stops the writer; later changes are not persisted.
    pub fn close(&self) {
        if let Some(writer) = self.writer.get() {
            writer.close();
        }
    }
}

/// What the broker tells of retained events, handed to `writer`.
pub(crate) fn retained_writer(writer: Arc<EventWriter>) -> Arc<dyn RetainedSink> {
    Arc::new(RetainedWriter { writer })
}

/// Hands retained events to the writer.
#[derive(Debug)]
struct RetainedWriter {
    writer: Arc<EventWriter>,
}

impl RetainedSink for RetainedWriter {
    fn retained(&self, topic: &str, event: &RetainedEvent) {
        let record = EventRecord {
            publication: event.publication,
            topic: topic.to_owned(),
            timestamp: jiff::Timestamp::now(),
            details: event.details.clone(),
            args: event.payload.args.clone(),
            kwargs: event.payload.kwargs.clone(),
            audience: audience_record(&event.audience),
        };
        self.writer.submit(EventWrite::Retain(Arc::new(record)));
    }

    fn forgotten(&self, topic: &str) {
        let topic = topic.to_owned();
        self.writer.submit(EventWrite::ForgetRetained { topic });
    }
}

pub(crate) fn audience_record(audience: &Audience) -> AudienceRecord {
    AudienceRecord {
        exclude_session: audience.exclude_session,
        exclude: audience.exclude.clone(),
        exclude_authid: audience.exclude_authid.clone(),
        exclude_authrole: audience.exclude_authrole.clone(),
        eligible: audience.eligible.clone(),
        eligible_authid: audience.eligible_authid.clone(),
        eligible_authrole: audience.eligible_authrole.clone(),
    }
}

pub(crate) fn audience(record: &AudienceRecord) -> Audience {
    Audience {
        exclude_session: record.exclude_session,
        exclude: record.exclude.clone(),
        exclude_authid: record.exclude_authid.clone(),
        exclude_authrole: record.exclude_authrole.clone(),
        eligible: record.eligible.clone(),
        eligible_authid: record.eligible_authid.clone(),
        eligible_authrole: record.eligible_authrole.clone(),
    }
}

/// A realm's store as the opener found it.
pub enum Opened {
    Now(Arc<dyn Store>),
    /// Another process holds the file: a memory store stands in, and `store_retry` opens it
    /// when it is free. `why` says so, naming the path and, when found, the holder.
    Late {
        store: Arc<LateStore>,
        why: String,
    },
}

/// The realms' stores as they are opened: a redb file opened once, shared by the realms that
/// name it.
pub struct StoreOpener<'a> {
    config: &'a Config,
    api_realms: Vec<String>,
    files: HashMap<PathBuf, Arc<dyn Store>>,
    late: HashMap<PathBuf, (Arc<LateStore>, String)>,
}

impl<'a> StoreOpener<'a> {
    pub fn new(config: &'a Config) -> StoreOpener<'a> {
        StoreOpener {
            config,
            api_realms: config.topics_api_realms(),
            files: HashMap::new(),
            late: HashMap::new(),
        }
    }

    /// Opens the store of `realm` (see the module documentation for which one). A file that
    /// another process holds is not an error: it opens [late](Opened::Late).
    pub fn open(&mut self, realm: &RealmConfig) -> Result<Opened, String> {
        let chosen = match &realm.store {
            Some(store) => store.clone(),
            None if !realm.topics.is_empty() || self.api_realms.contains(&realm.name) => {
                default_store(&self.config.folder, &realm.name)
            }
            None => StoreConfig::Memory,
        };
        let path = match chosen {
            StoreConfig::Memory => return Ok(Opened::Now(Arc::new(MemoryStore::new()))),
            StoreConfig::Embedded { path } => path,
        };
        if let Some(open) = self.files.get(&path) {
            return Ok(Opened::Now(Arc::clone(open)));
        }
        if let Some((store, why)) = self.late.get(&path) {
            let (store, why) = (Arc::clone(store), why.clone());
            return Ok(Opened::Late { store, why });
        }
        match EmbeddedStore::open(&path) {
            Ok(open) => {
                let open: Arc<dyn Store> = Arc::new(open);
                self.files.insert(path, Arc::clone(&open));
                Ok(Opened::Now(open))
            }
            Err(e) if e.is_locked() => {
                let store = Arc::new(LateStore::new(&path));
                let why = locked(&path);
                self.late.insert(path, (Arc::clone(&store), why.clone()));
                Ok(Opened::Late { store, why })
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `embedded store PATH is locked by another process (pid 1234 (junction))`.
pub fn locked(path: &Path) -> String {
    let holder = lock_holder(path).map_or(String::new(), |h| format!(" ({h})"));
    format!(
        "embedded store {} is locked by another process{holder}",
        path.display()
    )
}
