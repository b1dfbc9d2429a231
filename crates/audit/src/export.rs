//! The export file: a kommun's history, self-contained, as JSON lines.
//!
//! Line 1 is an [`ExportHeader`]; every further line an [`ExportEntry`] with
//! the event's stored bytes as a JSON string (UTF-8, so the bytes survive
//! exactly). Checkpoints and public keys are events of the history, so the
//! file carries them too.

use std::io::{BufRead, Write};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use styr_store::{EventStore, KommunId};

use crate::AuditError;

pub const EXPORT_FORMAT: &str = "styrkedja-export/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportHeader {
    pub format: String,
    pub kommun: KommunId,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub last_sequence: u64,
    pub head_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportEntry {
    pub sequence: u64,
    pub hash: String,
    /// The event's stored bytes.
    pub event: String,
    /// A foreign message whose bytes are not UTF-8: its bytes as hex (and
    /// `event` empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_hex: Option<String>,
}

impl ExportEntry {
    /// The message's stored bytes, exactly.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.event_hex {
            Some(h) => hex::decode(h).unwrap_or_default(),
            None => self.event.clone().into_bytes(),
        }
    }
}

/// Writes the kommun's history up to `up_to` (default: all of it).
pub async fn write_export(
    store: &EventStore,
    kommun: &KommunId,
    up_to: Option<u64>,
    out: &mut impl Write,
) -> Result<ExportHeader, AuditError> {
    write_export_with(store, kommun, up_to, out, |_| {}).await
}

/// [`write_export`], telling `progress` the sequence of every message written.
pub async fn write_export_with(
    store: &EventStore,
    kommun: &KommunId,
    up_to: Option<u64>,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> Result<ExportHeader, AuditError> {
    let last = store.last_sequence(kommun).await?;
    let last = up_to.map_or(last, |u| u.min(last));
    let head_hash = if last > 0 {
        styr_store::ChainHash::of_event(&store.raw_message(kommun, last).await?).to_hex()
    } else {
        styr_store::ChainHash::genesis(kommun).to_hex()
    };
    let header = ExportHeader {
        format: EXPORT_FORMAT.into(),
        kommun: kommun.clone(),
        exported_at: chrono::Utc::now(),
        last_sequence: last,
        head_hash,
    };
    serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    // Every message goes into the file, foreign ones too: the file holds the
    // stream as it is, and a verifier classifies it again.
    let records = store
        .history(kommun, styr_store::ChainState::genesis(kommun))
        .await?;
    futures::pin_mut!(records);
    while let Some(r) = records.next().await {
        let (sequence, hash, raw) = match r? {
            styr_store::Record::Event(e) => (e.sequence, e.hash, e.raw),
            styr_store::Record::Foreign(f) => (f.sequence, f.hash, f.raw),
        };
        if sequence > last {
            break;
        }
        let (event, event_hex) = match String::from_utf8(raw.to_vec()) {
            Ok(text) => (text, None),
            Err(_) => (String::new(), Some(hex::encode(&raw))),
        };
        let entry = ExportEntry {
            sequence,
            hash: hash.to_hex(),
            event,
            event_hex,
        };
        serde_json::to_writer(&mut *out, &entry).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        progress(sequence);
    }
    out.flush()?;
    Ok(header)
}

/// Reads an export file; a line that does not parse is an error naming it.
pub fn read_export(input: impl BufRead) -> Result<(ExportHeader, Vec<ExportEntry>), AuditError> {
    let mut lines = input.lines().enumerate();
    let header: ExportHeader = match lines.next() {
        Some((_, line)) => serde_json::from_str(&line?).map_err(|e| AuditError::Export {
            line: 1,
            detail: format!("inget exportfilshuvud: {e}"),
        })?,
        None => {
            return Err(AuditError::Export {
                line: 1,
                detail: "filen är tom".into(),
            })
        }
    };
    if header.format != EXPORT_FORMAT {
        return Err(AuditError::Export {
            line: 1,
            detail: format!("formatet {:?}, väntade {EXPORT_FORMAT}", header.format),
        });
    }
    let mut entries = Vec::new();
    for (i, line) in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        entries.push(serde_json::from_str(&line).map_err(|e| AuditError::Export {
            line: i + 1,
            detail: e.to_string(),
        })?);
    }
    Ok((header, entries))
}
