//! The proofs a benchmark sends: a directory of files (one proofOfTask per
//! file) and/or JSONL lines `{"proofOfTask", "data"?, "performer"?,
//! "taskDefinitionId"?}`. The corpus is the operator's own input, but it is
//! still read with caps: a file named by mistake (`/dev/zero`) is an error,
//! not an exhausted machine.

use std::path::{Path, PathBuf};

use alloy_primitives::Address;
use serde::Deserialize;

/// The most bytes read from one corpus file.
const MAX_FILE_BYTES: u64 = super::super::MAX_INPUT_BYTES;
/// The most proofs a corpus holds: a benchmark needs variety, not a copy of
/// the chain.
const MAX_ENTRIES: usize = 1_000_000;
/// The sidecar of a directory corpus: the task fields of its files.
pub(super) const SIDECAR: &str = "task.json";

/// One task to send, in wire form (`data` as the service receives it).
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) proof_of_task: String,
    pub(super) data: String,
    pub(super) performer: Address,
    pub(super) task_definition_id: u16,
}

/// Task fields that a line, a flag or a sidecar may give.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Fields {
    #[serde(default)]
    pub(super) data: Option<String>,
    #[serde(default)]
    pub(super) performer: Option<Address>,
    #[serde(default, rename = "taskDefinitionId", alias = "taskDefinitionID")]
    pub(super) task_definition_id: Option<u16>,
}

impl Fields {
    /// `self` where it says something, else `fallback`.
    fn or(&self, fallback: &Fields) -> Fields {
        Fields {
            data: self.data.clone().or_else(|| fallback.data.clone()),
            performer: self.performer.or(fallback.performer),
            task_definition_id: self.task_definition_id.or(fallback.task_definition_id),
        }
    }

    fn entry(&self, proof_of_task: String, place: &dyn Fn() -> String) -> Result<Entry, String> {
        let task_definition_id = self.task_definition_id.ok_or_else(|| {
            format!(
                "{}: no taskDefinitionId, and no --task-def to default to",
                place()
            )
        })?;
        Ok(Entry {
            proof_of_task,
            data: self.data.clone().unwrap_or_default(),
            performer: self.performer.unwrap_or(Address::ZERO),
            task_definition_id,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "proofOfTask")]
    proof_of_task: String,
    #[serde(flatten)]
    fields: Fields,
}

/// Loads every path; `flags` fill in what a line or a sidecar leaves out
/// (a line's own fields win, then the flags, then the sidecar).
pub(super) fn load(paths: &[PathBuf], flags: &Fields) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            load_dir(path, flags, &mut entries)?;
        } else {
            load_jsonl(path, flags, &mut entries)?;
        }
    }
    if entries.is_empty() {
        return Err(format!(
            "the corpus is empty: {} holds no proof",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(entries)
}

fn read_text(path: &Path) -> Result<String, String> {
    let bytes = taskproof_core::read_capped(path, MAX_FILE_BYTES)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}

fn push(entries: &mut Vec<Entry>, entry: Entry, path: &Path) -> Result<(), String> {
    if entries.len() >= MAX_ENTRIES {
        return Err(format!(
            "{}: the corpus holds more than {MAX_ENTRIES} proofs",
            path.display()
        ));
    }
    entries.push(entry);
    Ok(())
}

/// JSONL: one task per line, blank lines skipped; a malformed line is an
/// error naming the file and the line.
fn load_jsonl(path: &Path, defaults: &Fields, entries: &mut Vec<Entry>) -> Result<(), String> {
    let text = read_text(path)?;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = || format!("{}:{}", path.display(), n + 1);
        let line: Line = serde_json::from_str(line).map_err(|e| format!("{}: {e}", place()))?;
        let entry = line.fields.or(defaults).entry(line.proof_of_task, &place)?;
        push(entries, entry, path)?;
    }
    Ok(())
}

/// A directory: `*.jsonl` files are read as JSONL, `task.json` gives the
/// other files' task fields, hidden files are skipped, and every other
/// regular file is one proofOfTask, verbatim. Sorted by name, so a corpus
/// runs in the same order everywhere.
fn load_dir(dir: &Path, flags: &Fields, entries: &mut Vec<Entry>) -> Result<(), String> {
    let mut names = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    names.sort();
    let sidecar_path = dir.join(SIDECAR);
    let sidecar = if sidecar_path.exists() {
        let text = read_text(&sidecar_path)?;
        serde_json::from_str::<Fields>(&text)
            .map_err(|e| format!("{}: {e}", sidecar_path.display()))?
    } else {
        Fields::default()
    };
    let defaults = flags.or(&sidecar);
    for path in names {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || path == sidecar_path {
            continue;
        }
        if !std::fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .is_file()
        {
            return Err(format!(
                "{}: not a regular file (a corpus directory holds proof files, *.jsonl and {SIDECAR})",
                path.display()
            ));
        }
        if name.ends_with(".jsonl") {
            load_jsonl(&path, &defaults, entries)?;
        } else {
            let proof_of_task = read_text(&path)?;
            let entry = defaults.entry(proof_of_task, &|| path.display().to_string())?;
            push(entries, entry, &path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(id: Option<u16>) -> Fields {
        Fields {
            task_definition_id: id,
            ..Fields::default()
        }
    }

    #[test]
    fn a_malformed_line_is_refused_with_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, "{\"proofOfTask\": \"1\"}\n\n{\"proofOfTask\": 2}\n").unwrap();
        let err = load(std::slice::from_ref(&path), &flags(Some(1))).unwrap_err();
        assert!(
            err.starts_with(&format!("{}:3: invalid type", path.display())),
            "{err}"
        );
    }

    #[test]
    fn a_line_without_a_task_definition_needs_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(
            &path,
            "{\"proofOfTask\": \"1\", \"taskDefinitionId\": 4}\n{\"proofOfTask\": \"2\"}\n",
        )
        .unwrap();
        let err = load(std::slice::from_ref(&path), &flags(None)).unwrap_err();
        assert!(err.contains(":2: no taskDefinitionId"), "{err}");
        let entries = load(&[path], &flags(Some(9))).unwrap();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.task_definition_id)
                .collect::<Vec<_>>(),
            [4, 9]
        );
    }

    #[test]
    fn a_directory_reads_its_sidecar_and_flags_win_over_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SIDECAR),
            r#"{"data": "0x01", "taskDefinitionId": 5}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.proof"), "second").unwrap();
        std::fs::write(dir.path().join("a.proof"), "first").unwrap();
        std::fs::write(dir.path().join(".hidden"), "skipped").unwrap();
        let mut given = flags(None);
        given.data = Some("0x02".into());
        let entries = load(&[dir.path().to_path_buf()], &given).unwrap();
        let got: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.proof_of_task.as_str(),
                    e.data.as_str(),
                    e.task_definition_id,
                )
            })
            .collect();
        assert_eq!(got, [("first", "0x02", 5), ("second", "0x02", 5)]);
    }

    #[test]
    fn an_endless_corpus_file_is_refused() {
        let err = load(&[PathBuf::from("/dev/zero")], &flags(Some(1))).unwrap_err();
        assert!(err.starts_with("/dev/zero: "), "{err}");
        assert!(err.contains("limit") || err.contains("larger"), "{err}");
    }
}
