//! A realm's store: which one it gets, what it loads from it at start, and how retained
//! events and history entries reach it without the publish path waiting for the disk.
//!
//! Every realm has exactly one store, opened once at start and owned by the realm (pollers
//! and the topics API use the same one): the configured `store`; else the default embedded
//! file when the realm has poller topics or a topics API (where poller state always lived);
//! else memory. A redb file can be opened once per process, so realms naming the same file
//! share one open store (its keys are per realm).
//!
//! A durable store gets an [`EventWriter`] thread; a memory store gets none, since the broker
//! and the history buffers already hold everything it would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::info;

use crate::config::{Config, RealmConfig, StoreConfig, default_store};
use crate::router::broker::{Audience, RetainedEvent, RetainedSink};
use crate::router::realm::Realm;
use crate::store::{
    AudienceRecord, EmbeddedStore, EventRecord, EventWrite, EventWriter, MemoryStore, Store,
    StoreError,
};
use crate::wamp::message::Payload;

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

impl Realm {
    /// Loads what an earlier run kept: retained events into the broker, history entries into
    /// the history buffers. A memory store has nothing to load.
    pub(crate) fn load_events(&self) -> Result<(), StoreError> {
        let store = self.storage.store();
        if !store.is_durable() {
            return Ok(());
        }
        let retained = store.retained_events(&self.name)?;
        let count = retained.len();
        let broker = self.broker.read();
        for record in retained {
            let event = RetainedEvent {
                publication: record.publication,
                details: record.details,
                payload: Payload {
                    args: record.args,
                    kwargs: record.kwargs,
                },
                audience: audience(&record.audience),
            };
            broker.restore_retained(record.topic, event);
        }
        drop(broker);
        let entries = match &self.history {
            Some(history) => history.load(&self.name, &**store, self.storage.writer())?,
            None => 0,
        };
        if count > 0 || entries > 0 {
            info!(
                realm = self.name,
                "loaded {count} retained event(s) and {entries} history entries from the store"
            );
        }
        Ok(())
    }

    /// The realm's store (pollers keep their state in it too).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self.storage.store())
    }

    /// Commits the writes still queued for the store and stops its writer (at shutdown).
    pub fn close_store(&self) {
        self.storage.close();
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

fn audience(record: &AudienceRecord) -> Audience {
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
