//! Property tests: whatever bytes arrive from the network, decoding returns a message or a
//! protocol violation, never a panic; and once encoded, every decoded message survives a round
//! trip through either serialization unchanged (the first encoding normalises, e.g. drops
//! empty Arguments).

use junction::wamp::serializer::Serialization;
use proptest::prelude::*;

/// JSON-ish inputs built from WAMP-looking fragments, so decoding gets past the first byte.
fn wampish_json() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        3 => (1i64..1000).prop_map(|i| i.to_string()),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        2 => "[a-z.]{0,12}".prop_map(|s| format!("\"{s}\"")),
        2 => Just("{}".to_owned()),
        1 => Just(r#"{"a":[1,{"b":"\u0000AAEC"}]}"#.to_owned()),
        1 => Just("[]".to_owned()),
        1 => Just(r#"[1.5,"\u0000AAEC",null,true]"#.to_owned()),
    ];
    let code = prop::sample::select(vec![
        1u64, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70,
        7, 99,
    ]);
    (code, prop::collection::vec(atom, 1..6)).prop_map(|(code, rest)| {
        let mut parts = vec![code.to_string()];
        parts.extend(rest);
        format!("[{}]", parts.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Serialization::Json.decode(&bytes);
        let _ = Serialization::MsgPack.decode(&bytes);
    }

    #[test]
    fn decoded_messages_round_trip(text in wampish_json()) {
        let decoded = Serialization::Json.decode(text.as_bytes());
        if let Ok(msg) = decoded {
            for s in [Serialization::Json, Serialization::MsgPack] {
                let once = s.encode(&msg);
                let again = s.decode(&once).expect("decoding our own encoding");
                prop_assert_eq!(s.encode(&again), once);
            }
        }
    }
}

/// Guards the property above against vacuity: the generator must produce many valid messages.
#[test]
fn generator_yields_valid_messages() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let valid = (0..2000)
        .filter(|_| {
            let text = wampish_json().new_tree(&mut runner).unwrap().current();
            Serialization::Json.decode(text.as_bytes()).is_ok()
        })
        .count();
    assert!(
        valid >= 25,
        "only {valid} of 2000 generated inputs were valid messages"
    );
}
