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
//! The operations, as in `json_patch::diff`: object members are compared in key order, added and
//! changed members first, then `remove` for the members that are gone; arrays are compared by
//! index (elements in both are diffed, extra new elements are `add`ed at their index, missing
//! ones `remove`d from the end, all at index `new.len()`); any other difference is a `replace`
//! of the whole value. Comparing by index means that one element prepended to an array rewrites
//! every element after it: [`crate::poller::change`] publishes a snapshot when the patch would
//! be larger than the document.

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use serde_json::{Map, Value};

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `diff` against `json_patch::diff`, and the patch applied to `old` against `new`.
    fn check(old: Value, new: Value) -> Patch {
        let patch = diff(&old, &new);
        assert_eq!(patch, json_patch::diff(&old, &new), "{old} -> {new}");
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

    #[test]
    fn root_changes_replace_the_document() {
        let patch = check(json!({"a": 1}), json!([1]));
        assert_eq!(
            ops(&patch),
            json!([{"op": "replace", "path": "", "value": [1]}])
        );
    }
}
