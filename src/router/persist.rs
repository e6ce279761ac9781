//! A realm's store: which one it gets, and how retained events and history entries reach it
//! without the publish path waiting for the disk (what the realm loads from it at start is
//! in [`realm::storage`](crate::router::realm)).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Config, RealmConfig, StoreConfig, default_store};
use crate::router::broker::{Audience, RetainedEvent, RetainedSink};
use crate::store::{
    AudienceRecord, EmbeddedStore, EventRecord, EventWrite, EventWriter, MemoryStore, Store,
};

/// A realm's store and, when it is durable, the writer that feeds it.
pub struct RealmStorage {
    store: Arc<dyn Store>,
    writer: Option<Arc<EventWriter>>,
}

impl RealmStorage {
    /// A fresh memory store: nothing survives the process.
    pub fn memory() -> RealmStorage {
        RealmStorage {
            store: Arc::new(MemoryStore::new()),
            writer: None,
        }
    }

    /// Uses `store`, starting a writer thread for `realm` when the store is durable.
    pub fn new(realm: &str, store: Arc<dyn Store>) -> Result<RealmStorage, String> {
        let writer = if store.is_durable() {
            let writer = EventWriter::spawn(store.clone(), realm)
                .map_err(|e| format!("cannot start the event store writer: {e}"))?;
            Some(Arc::new(writer))
        } else {
            None
        };
        Ok(RealmStorage { store, writer })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The writer, when the store is durable.
    pub fn writer(&self) -> Option<&EventWriter> {
        self.writer.as_deref()
    }

    /// What the broker tells of retained events, when they are to be persisted.
    pub fn retained_sink(&self) -> Option<Arc<dyn RetainedSink>> {
        let writer = Arc::clone(self.writer.as_ref()?);
        Some(Arc::new(RetainedWriter { writer }))
    }

    /// Commits what is queued and stops the writer; later changes are not persisted.
    pub fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close();
        }
    }
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

/// The realms' stores as they are opened: a redb file opened once, shared by the realms that
/// name it.
pub struct StoreOpener<'a> {
    config: &'a Config,
    api_realms: Vec<String>,
    files: HashMap<PathBuf, Arc<dyn Store>>,
}

impl<'a> StoreOpener<'a> {
    pub fn new(config: &'a Config) -> StoreOpener<'a> {
        StoreOpener {
            config,
            api_realms: config.topics_api_realms(),
            files: HashMap::new(),
        }
    }

    /// Opens the store of `realm` (see the module documentation for which one).
    pub fn open(&mut self, realm: &RealmConfig) -> Result<Arc<dyn Store>, String> {
        let chosen = match &realm.store {
            Some(store) => store.clone(),
            None if !realm.topics.is_empty() || self.api_realms.contains(&realm.name) => {
                default_store(&self.config.folder, &realm.name)
            }
            None => StoreConfig::Memory,
        };
        let path = match chosen {
            StoreConfig::Memory => return Ok(Arc::new(MemoryStore::new())),
            StoreConfig::Embedded { path } => path,
        };
        if let Some(open) = self.files.get(&path) {
            return Ok(Arc::clone(open));
        }
        let open: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).map_err(|e| e.to_string())?);
        self.files.insert(path, Arc::clone(&open));
        Ok(open)
    }
}
