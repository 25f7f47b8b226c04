//! SMS replies: only the paged number, only with the right code.

use klaxon_app::reply::ReplyOutcome;
use klaxon_core::incident::Status;
use klaxon_local::events::{Delivery, alarm, sms_reply};

use crate::common::{World, ack_code, opened_id};

async fn open_and_page(w: &World, base: &str) -> (String, String) {
    let event = alarm(
        Delivery::EventBridge,
        &w.alarm_name(base),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let before = w.sms_to(&w.alice).await.len();
    let id = opened_id(&w.local.deliver_alarm(&event).await.unwrap());
    let sms = w.wait_for_sms(&w.alice, before + 1).await;
    let code = ack_code(&sms.last().unwrap().message);
    (id, code)
}

#[tokio::test]
async fn ack_from_a_number_that_was_not_paged_changes_nothing() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let (id, code) = open_and_page(&w, "spoof").await;
    let stranger = format!("+1415{}99", w.tag);
    for (from, n) in [
        (stranger.as_str(), 1),
        (w.bob.as_str(), 2),
        (w.carol.as_str(), 3),
    ] {
        let out = w
            .local
            .deliver_reply(
                &sms_reply(
                    from,
                    &format!("ACK {code}"),
                    &format!("spoof-{n}-{}", w.tag),
                )
                .unwrap(),
            )
            .await
            .unwrap();
        assert!(
            matches!(out[..], [ReplyOutcome::Refused { .. }]),
            "{from}: {out:?}"
        );
    }
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Triggered);
    assert!(incident.acknowledged_by.is_none());
    assert!(
        w.sms_to(&stranger).await.is_empty(),
        "strangers get no answer"
    );
    assert!(
        !w.timeline(&id)
            .await
            .iter()
            .any(|e| e.event.kind() == "acknowledged")
    );
    pump.stop().await;
}

#[tokio::test]
async fn ack_with_another_incidents_code_changes_nothing() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    // Alice is paged for the first incident, Carol for the payments one.
    let (alices, alices_code) = open_and_page(&w, "one").await;
    let payments = alarm(
        Delivery::EventBridge,
        &w.alarm_name("payments-api"),
        "ALARM",
        "2026-11-21T06:00:00.000Z",
    )
    .unwrap();
    let carols = opened_id(&w.local.deliver_alarm(&payments).await.unwrap());
    let carols_code = ack_code(&w.wait_for_sms(&w.carol, 1).await[0].message);
    assert_ne!(
        alices_code, carols_code,
        "open incidents hold distinct codes"
    );

    // Alice quotes Carol's incident's code: she was not paged for it.
    let out = w
        .local
        .deliver_reply(
            &sms_reply(
                &w.alice,
                &format!("ACK {carols_code}"),
                &format!("x-{}", w.tag),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(out[..], [ReplyOutcome::Refused { .. }]), "{out:?}");
    // Carol quotes Alice's incident's code.
    let out = w
        .local
        .deliver_reply(
            &sms_reply(
                &w.carol,
                &format!("RES {alices_code}"),
                &format!("y-{}", w.tag),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(out[..], [ReplyOutcome::Refused { .. }]), "{out:?}");
    // A code no open incident holds is refused too.
    let unused = (0..10_000)
        .map(|n| format!("{n:04}"))
        .find(|c| *c != alices_code && *c != carols_code)
        .unwrap();
    let out = w
        .local
        .deliver_reply(
            &sms_reply(&w.alice, &format!("ACK {unused}"), &format!("z-{}", w.tag)).unwrap(),
        )
        .await
        .unwrap();
    assert!(matches!(out[..], [ReplyOutcome::Refused { .. }]), "{out:?}");
    assert_eq!(w.incident(&alices).await.status, Status::Triggered);
    assert_eq!(w.incident(&carols).await.status, Status::Triggered);
    pump.stop().await;
}

#[tokio::test]
async fn full_width_japanese_replies_acknowledge_and_resolve() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let (id, code) = open_and_page(&w, "zenkaku").await;
    let wide: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let out = w
        .local
        .deliver_reply(
            &sms_reply(
                &w.alice,
                &format!("ＡＣＫ　{wide}"),
                &format!("z1-{}", w.tag),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![ReplyOutcome::Acknowledged {
            incident_id: id.clone()
        }]
    );
    let out = w
        .local
        .deliver_reply(
            &sms_reply(&w.alice, &format!("ｒｅｓ{wide}"), &format!("z2-{}", w.tag)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        vec![ReplyOutcome::Resolved {
            incident_id: id.clone()
        }]
    );
    let incident = w.incident(&id).await;
    assert_eq!(incident.status, Status::Resolved);
    assert!(incident.resolved_by.unwrap().contains("Alice"));
    let confirmations = w.wait_for_sms(&w.alice, 3).await;
    assert!(confirmations[2].message.contains("resolved"));
    pump.stop().await;
}

#[tokio::test]
async fn the_same_inbound_message_twice_acts_once() {
    let w = World::new(60, 0).await;
    let pump = w.pump();
    let (id, code) = open_and_page(&w, "twice").await;
    let reply = sms_reply(&w.alice, &format!("ACK{code}"), &format!("dup-{}", w.tag)).unwrap();
    let first = w.local.deliver_reply(&reply).await.unwrap();
    let second = w.local.deliver_reply(&reply).await.unwrap();
    assert_eq!(
        first,
        vec![ReplyOutcome::Acknowledged {
            incident_id: id.clone()
        }]
    );
    assert_eq!(second, vec![ReplyOutcome::Duplicate]);
    assert_eq!(
        w.wait_for_sms(&w.alice, 2).await.len(),
        2,
        "one confirmation"
    );
    pump.stop().await;
}
