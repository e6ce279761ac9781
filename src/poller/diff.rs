//! The RFC 6902 patch between two snapshots of a poller topic.
//!
//! [`diff`] gives exactly the patch `json_patch::diff` gives (same operations, same order, same
//! paths), but does not walk into equal subtrees: `json_patch::diff` visits every member and
//! element of both documents, formatting a JSON pointer for each, while a changed poll usually
//! alters a few records of a large document. Here an array element or object member that is
//! equal (`==`, which stops at the first difference) in both documents costs one comparison and
//! produces nothing, exactly what `json_patch::diff` would have produced for it after visiting
//! every leaf.
//!
//! [`diff_bytes`] computes the same patch from the old document and the new one's JSON text,
//! while parsing it: nothing is built for the parts of the text equal to the old document, so a
//! changed poll costs a pass over the bytes instead of a parse into a tree, a walk of both trees
//! and the tree's allocations. serde_json's own parser reads the text, so it accepts and rejects
//! exactly what `serde_json::from_slice` does (with the same errors); the arrays and objects the
//! patch carries are built by serde_json's `Value` deserializer, and scalars as it builds them.
//! An object key that repeats in the text counts once, with its last value, as in serde_json's
//! `Map`.
//!
//! The operations, as in `json_patch::diff`: object members are compared in key order, added and
//! changed members first, then `remove` for the members that are gone; arrays are compared by
//! index (elements in both are diffed, extra new elements are `add`ed at their index, missing
//! ones `remove`d from the end, all at index `new.len()`); any other difference is a `replace`
//! of the whole value. Comparing by index means that one element prepended to an array rewrites
//! every element after it: [`crate::poller::change`] publishes a snapshot when the patch would
//! be larger than the document.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The operations that turn `old` into `new`; empty if and only if `old == new`.
pub fn diff(old: &Value, new: &Value) -> Patch {
    let mut walk = Walk {
        path: PointerBuf::new(),
        ops: Vec::new(),
    };
    walk.values(old, new);
    Patch(walk.ops)
}

/// The diff's state: the pointer to the values being compared and the operations so far.
struct Walk {
    path: PointerBuf,
    ops: Vec<PatchOperation>,
}

impl Walk {
    fn values(&mut self, old: &Value, new: &Value) {
        match (old, new) {
            (Value::Object(old), Value::Object(new)) => self.objects(old, new),
            (Value::Array(old), Value::Array(new)) => self.arrays(old, new),
            _ if old == new => {}
            _ => self.replace(new),
        }
    }

    fn objects(&mut self, old: &Map<String, Value>, new: &Map<String, Value>) {
        for (key, new_value) in new {
            match old.get(key) {
                Some(old_value) if old_value == new_value => {}
                Some(old_value) => {
                    self.path.push_back(key);
                    self.values(old_value, new_value);
                    self.path.pop_back();
                }
                None => {
                    self.path.push_back(key);
                    self.add(new_value);
                    self.path.pop_back();
                }
            }
        }
        for key in old.keys().filter(|key| !new.contains_key(*key)) {
            self.path.push_back(key);
            self.remove();
            self.path.pop_back();
        }
    }

    fn arrays(&mut self, old: &[Value], new: &[Value]) {
        for (index, (old_element, new_element)) in old.iter().zip(new).enumerate() {
            if old_element != new_element {
                self.path.push_back(index);
                self.values(old_element, new_element);
                self.path.pop_back();
            }
        }
        for (index, new_element) in new.iter().enumerate().skip(old.len()) {
            self.path.push_back(index);
            self.add(new_element);
            self.path.pop_back();
        }
        // Each removal shifts the rest down: the next element to remove is at `new.len()` again.
        for _ in new.len()..old.len() {
            self.path.push_back(new.len());
            self.remove();
            self.path.pop_back();
        }
    }

    fn add(&mut self, value: &Value) {
        self.ops.push(PatchOperation::Add(AddOperation {
            path: self.path.clone(),
            value: value.clone(),
        }));
    }

    fn remove(&mut self) {
        self.ops.push(PatchOperation::Remove(RemoveOperation {
            path: self.path.clone(),
        }));
    }

    fn replace(&mut self, value: &Value) {
        self.ops.push(PatchOperation::Replace(ReplaceOperation {
            path: self.path.clone(),
            value: value.clone(),
        }));
    }
}

/// The patch `diff(old, &serde_json::from_slice(raw)?)` gives, and the same error when `raw` is
/// not JSON, computed while parsing `raw` without building the new document.
pub fn diff_bytes(old: &Value, raw: &[u8]) -> Result<Patch, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let mut state = State {
        ops: Vec::new(),
        members: Vec::new(),
        kept: Vec::new(),
    };
    Against {
        old,
        path: Path::Root,
        state: &mut state,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Patch(state.ops))
}

/// What [`diff_bytes`] builds as it goes: the operations, and scratch space reused by every
/// object so that reading one allocates nothing. `members` is a stack (an object's members sit
/// above those of the objects enclosing it, and are gone when it ends); `kept` is refilled by
/// each object once its members are read.
struct State<'de> {
    ops: Vec<PatchOperation>,
    members: Vec<Member<'de>>,
    kept: Vec<*const String>,
}

/// One member of an object of the new document: its key, the range of the operations its
/// value produced, and the key in the old object it matched (by address), if any.
struct Member<'de> {
    key: Cow<'de, str>,
    ops: Range<usize>,
    old_key: Option<*const String>,
}

/// Where a value is in the document, as a chain on the stack: the JSON pointer is only
/// formatted for an operation, not for every value visited.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Member(&'p Path<'p>, &'p str),
    Element(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn pointer(&self) -> PointerBuf {
        match *self {
            Path::Root => PointerBuf::new(),
            Path::Member(parent, key) => {
                let mut pointer = parent.pointer();
                pointer.push_back(key);
                pointer
            }
            Path::Element(parent, index) => {
                let mut pointer = parent.pointer();
                pointer.push_back(index);
                pointer
            }
        }
    }
}

/// Parses one value of the new document and appends the operations that turn `old`, the value
/// at the same path in the old document, into it: what [`Walk::values`] would append.
struct Against<'a, 'p, 'de> {
    old: &'a Value,
    path: Path<'p>,
    state: &'a mut State<'de>,
}

impl<'de> DeserializeSeed<'de> for Against<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Against<'_, '_, '_> {
    /// A scalar of the new document, built as serde_json's `Value` deserializer builds it.
    fn scalar(self, new: Value) {
        if *self.old != new {
            self.replace(new);
        }
    }

    fn replace(self, new: Value) {
        self.state
            .ops
            .push(PatchOperation::Replace(ReplaceOperation {
                path: self.path.pointer(),
                value: new,
            }));
    }
}

impl<'de> Visitor<'de> for Against<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<(), E> {
        self.scalar(Value::Bool(b));
        Ok(())
    }

    fn visit_i64<E>(self, i: i64) -> Result<(), E> {
        self.scalar(Value::Number(i.into()));
        Ok(())
    }

    fn visit_u64<E>(self, u: u64) -> Result<(), E> {
        self.scalar(Value::Number(u.into()));
        Ok(())
    }

    fn visit_f64<E>(self, f: f64) -> Result<(), E> {
        self.scalar(Number::from_f64(f).map_or(Value::Null, Value::Number));
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        // Compared in place: an unchanged string is not copied.
        if self.old.as_str() != Some(s) {
            self.replace(Value::String(s.to_owned()));
        }
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.scalar(Value::Null);
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.scalar(Value::Null);
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Against { old, path, state } = self;
        let Value::Array(old) = old else {
            let new = Value::deserialize(SeqAccessDeserializer::new(seq))?;
            Against { old, path, state }.replace(new);
            return Ok(());
        };
        let mut index = 0;
        loop {
            let path = Path::Element(&path, index);
            let more = match old.get(index) {
                Some(old) => seq
                    .next_element_seed(Against {
                        old,
                        path,
                        state: &mut *state,
                    })?
                    .is_some(),
                None => match seq.next_element::<Value>()? {
                    Some(value) => {
                        state.ops.push(PatchOperation::Add(AddOperation {
                            path: path.pointer(),
                            value,
                        }));
                        true
                    }
                    None => false,
                },
            };
            if !more {
                break;
            }
            index += 1;
        }
        // Each removal shifts the rest down: the next element to remove is at `index` again.
        for _ in index..old.len() {
            state.ops.push(PatchOperation::Remove(RemoveOperation {
                path: Path::Element(&path, index).pointer(),
            }));
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Against { old, path, state } = self;
        let Value::Object(old) = old else {
            let new = Value::deserialize(MapAccessDeserializer::new(map))?;
            Against { old, path, state }.replace(new);
            return Ok(());
        };
        let (first_op, first_member) = (state.ops.len(), state.members.len());
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let start = state.ops.len();
            let old_key = match old_member(old, &key) {
                Some((old_key, old)) => {
                    let path = Path::Member(&path, &key);
                    let state = &mut *state;
                    map.next_value_seed(Against { old, path, state })?;
                    Some(old_key as *const String)
                }
                None => {
                    let value = map.next_value::<Value>()?;
                    state.ops.push(PatchOperation::Add(AddOperation {
                        path: Path::Member(&path, &key).pointer(),
                        value,
                    }));
                    None
                }
            };
            state.members.push(Member {
                key,
                ops: start..state.ops.len(),
                old_key,
            });
        }
        let members = &mut state.members[first_member..];
        // The old keys the new object has, each once (a key may repeat in JSON text).
        state.kept.clear();
        state.kept.extend(members.iter().filter_map(|m| m.old_key));
        state.kept.sort_unstable();
        state.kept.dedup();
        if state.ops.len() > first_op {
            in_key_order(&mut state.ops, first_op, members);
        }
        if state.kept.len() < old.len() {
            for key in old.keys() {
                if state.kept.binary_search(&(key as *const String)).is_err() {
                    state.ops.push(PatchOperation::Remove(RemoveOperation {
                        path: Path::Member(&path, key).pointer(),
                    }));
                }
            }
        }
        state.members.truncate(first_member);
        Ok(())
    }
}

/// The member of `old` named `key`. Small objects (records) are searched in order comparing
/// lengths first, which reads fewer of the old document's key strings than the map's search.
fn old_member<'a>(old: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    if old.len() <= 16 {
        old.iter().find(|(old_key, _)| old_key.as_str() == key)
    } else {
        old.get_key_value(key)
    }
}

/// Reorders the operations an object's members appended from `ops[start..]`, in document
/// order, into `json_patch::diff`'s order: by key, each key once with its last value (as in
/// serde_json's `Map`).
fn in_key_order(ops: &mut Vec<PatchOperation>, start: usize, members: &mut [Member<'_>]) {
    // A stable sort keeps a repeated key's occurrences in document order: the last one counts.
    members.sort_by(|a, b| a.key.cmp(&b.key));
    let mut appended: Vec<Option<PatchOperation>> = ops.drain(start..).map(Some).collect();
    for (i, member) in members.iter().enumerate() {
        let repeated = members
            .get(i + 1)
            .is_some_and(|next| next.key == member.key);
        if repeated {
            continue;
        }
        for op in member.ops.clone() {
            ops.extend(appended[op - start].take());
        }
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `diff` against `json_patch::diff`, `diff_bytes` of `new`'s text (compact and indented)
    /// against `diff`, and the patch applied to `old` against `new`.
    fn check(old: Value, new: Value) -> Patch {
        let patch = diff(&old, &new);
        assert_eq!(patch, json_patch::diff(&old, &new), "{old} -> {new}");
        for raw in [
            serde_json::to_vec(&new).unwrap(),
            serde_json::to_vec_pretty(&new).unwrap(),
        ] {
            assert_eq!(diff_bytes(&old, &raw).unwrap(), patch, "{old} -> {new}");
        }
        let mut doc = old.clone();
        json_patch::patch(&mut doc, &patch).unwrap();
        assert_eq!(doc, new);
        patch
    }

    fn ops(patch: &Patch) -> Value {
        serde_json::to_value(patch).unwrap()
    }

    #[test]
    fn equal_documents_give_an_empty_patch() {
        assert!(
            check(
                json!({"a": [1, {"b": null}]}),
                json!({"a": [1, {"b": null}]})
            )
            .is_empty()
        );
    }

    #[test]
    fn arrays_grow_and_shrink_at_the_end() {
        let patch = check(json!([1, 2, 3, 4]), json!([1, 9]));
        assert_eq!(
            ops(&patch),
            json!([{"op": "replace", "path": "/1", "value": 9},
                   {"op": "remove", "path": "/2"}, {"op": "remove", "path": "/2"}])
        );
        let patch = check(json!([1]), json!([1, 2, [3]]));
        assert_eq!(
            ops(&patch),
            json!([{"op": "add", "path": "/1", "value": 2},
                   {"op": "add", "path": "/2", "value": [3]}])
        );
    }

    #[test]
    fn type_changes_replace_the_value() {
        check(json!({"a": [1]}), json!({"a": {"0": 1}}));
        check(json!({"a": "1"}), json!({"a": 1}));
        check(json!([1]), json!(null));
        let patch = check(json!({"a": 1.0}), json!({"a": 1}));
        assert_eq!(
            ops(&patch),
            json!([{"op": "replace", "path": "/a", "value": 1}])
        );
    }

    #[test]
    fn nested_members_are_added_changed_then_removed_in_key_order() {
        let patch = check(
            json!({"x": {"keep": [1, 2], "old": true, "v": 1}, "z": 0}),
            json!({"x": {"keep": [1, 2], "new": false, "v": 2}, "a": [], "z": 0}),
        );
        assert_eq!(
            ops(&patch),
            json!([{"op": "add", "path": "/a", "value": []},
                   {"op": "add", "path": "/x/new", "value": false},
                   {"op": "replace", "path": "/x/v", "value": 2},
                   {"op": "remove", "path": "/x/old"}])
        );
    }

    #[test]
    fn keys_with_slash_tilde_and_empty_keys_are_escaped() {
        let patch = check(
            json!({"a/b": 1, "m~n": {"~1": 1}, "": 1}),
            json!({"a/b": 2, "m~n": {"~1": 2}, "": 2, "/": 0}),
        );
        assert_eq!(
            ops(&patch),
            json!([{"op": "replace", "path": "/", "value": 2},
                   {"op": "add", "path": "/~1", "value": 0},
                   {"op": "replace", "path": "/a~1b", "value": 2},
                   {"op": "replace", "path": "/m~0n/~01", "value": 2}])
        );
    }

    /// `diff_bytes(old, raw)` against `diff(old, from_slice(raw))`, or the same error.
    fn check_text(old: &Value, raw: &str) {
        let parsed = serde_json::from_str::<Value>(raw);
        match (diff_bytes(old, raw.as_bytes()), parsed) {
            (Ok(patch), Ok(new)) => assert_eq!(patch, diff(old, &new), "{old} -> {raw}"),
            (Err(e), Err(expected)) => assert_eq!(e.to_string(), expected.to_string()),
            (got, expected) => panic!("{raw}: {got:?} but from_slice gives {expected:?}"),
        }
    }

    #[test]
    fn repeated_keys_count_once_with_their_last_value() {
        let old = json!({"a": 1, "b": 2});
        for raw in [
            r#"{"a": 5, "b": 2, "a": 1}"#,
            r#"{"a": 1, "a": 5}"#,
            r#"{"b": 2, "c": 1, "a": 1, "c": 2}"#,
            r#"{"a": {"x": 1}, "b": [1], "a": 3, "b": 2}"#,
            r#"{"a": 1, "a": 1, "a": 1}"#,
        ] {
            check_text(&old, raw);
        }
    }

    #[test]
    fn text_is_read_as_serde_json_reads_it() {
        let old = json!({"a": 1, "s": "x", "n": [1.0, -1, 18446744073709551615_u64]});
        for raw in [
            r#"{"\u0061": 1, "s": "\u0078", "n": [1.0, -1, 18446744073709551615]}"#,
            r#"{"a": 1.0, "s": "x\ny", "n": [1, -1.0, 18446744073709551616]}"#,
            r#"{"a": -0, "s": "\ud83d\ude00", "n": [1e0, -1, 1e400]}"#,
            r#"{"a/~b": [], "a": null, "s": {"k": "v"}, "n": {}}"#,
            r#" [ 1 , {"a" : 1} ] "#,
            r#"{"a": 1"#,
            r#"{"a": 1,}"#,
            r#"[1, 2] x"#,
            r#"{"s": "\ud800"}"#,
            "{\"s\": \"\u{1}\"}",
            "",
        ] {
            check_text(&old, raw);
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        check_text(&old, &deep);
        check_text(&json!([[[]]]), &deep);
    }

    #[test]
    fn root_changes_replace_the_document() {
        let patch = check(json!({"a": 1}), json!([1]));
        assert_eq!(
            ops(&patch),
            json!([{"op": "replace", "path": "", "value": [1]}])
        );
    }
}
