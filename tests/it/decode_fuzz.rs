//! Property tests: whatever bytes arrive from the network, decoding returns a message or a
//! protocol violation, never a panic (in JSON, MessagePack and CBOR); and once encoded, every
//! decoded message survives a round trip through any serialization unchanged (the first
//! encoding normalises, e.g. drops empty Arguments).

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

/// Valid messages of several shapes (bytes, nesting, big and negative numbers, floats, unicode)
/// that the mutation property starts from.
const SEED_MESSAGES: &[&str] = &[
    r#"[1,"realm1",{"roles":{"caller":{},"subscriber":{"features":{"x":true}}}}]"#,
    r#"[16,1,{"acknowledge":true,"exclude":[1,2]},"com.example.topic",["\u0000AAEC",1.5,null],{"k":{"n":[-1,18446744073709551615]}}]"#,
    r#"[36,9007199254740992,2,{"topic":"a.b"},[[[[["deep"]]]],"\u0000//8=",true,-9223372036854775808]]"#,
    r#"[48,7,{"timeout":1000},"com.add",[1,2],{"ü€":"\u0000"}]"#,
    r#"[50,7,{"progress":true},[],{"blob":"\u0000AAECAwQFBgcICQoLDA0ODw=="}]"#,
    r#"[8,48,7,{},"com.error",["text",0.1,1e300]]"#,
    r#"[68,3,4,{"caller":5,"procedure":"x.y"},[{"a":[{"b":[{}]}]}]]"#,
    r#"[3,{"message":"bye"},"wamp.error.not_authorized"]"#,
    r#"[33,5,6]"#,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for s in Serialization::ALL {
            let _ = s.decode(&bytes);
        }
    }

    /// Valid binary encodings with some bytes overwritten, cut or extended: gets deep into the
    /// MessagePack and CBOR decoders (headers, lengths, tags, nesting) instead of failing on the
    /// first byte.
    #[test]
    fn mutated_binary_messages_never_panic(
        text in prop::sample::select(SEED_MESSAGES),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        tail in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        let msg = Serialization::Json.decode(text.as_bytes()).expect("a seed message");
        for s in [Serialization::MsgPack, Serialization::Cbor] {
            let mut bytes = s.encode(&msg).to_vec();
            for (at, byte) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
            let _ = s.decode(&bytes);
            bytes.truncate(cut.index(bytes.len() + 1));
            let _ = s.decode(&bytes);
            bytes.extend_from_slice(&tail);
            let _ = s.decode(&bytes);
        }
    }

    #[test]
    fn decoded_messages_round_trip(text in wampish_json()) {
        let decoded = Serialization::Json.decode(text.as_bytes());
        if let Ok(msg) = decoded {
            for s in Serialization::ALL {
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
