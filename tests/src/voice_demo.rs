//! The demo's voice scene: a stack with a voice number, its calls answered
//! by the simulated phone network, which drives the real voice-call
//! handler. Hana (Japanese) is emailed at once and called 3 s later; she
//! presses 9 (nothing happens), then 4.

use std::sync::Arc;
use std::time::Duration;

use klaxon_app::calls::call_summaries;
use klaxon_app::intake::IntakeOutcome;
use klaxon_core::phone::mask;
use klaxon_local::events::{Delivery, alarm};
use klaxon_local::phone::{PhoneNetwork, Press, Script};
use klaxon_local::{HarnessError, LOCAL_VOICE_FROM, Local, Pump};
use klaxon_ports::Incidents;

pub async fn scene(stack: &str) -> Result<(), HarnessError> {
    let network = PhoneNetwork::start().await?;
    // A new stack per run: its SIP media application is made on this run's
    // network (by the custom resource's function), and the tables of an
    // earlier run's stack are retained, as the template says.
    let stack = format!(
        "{stack}-voice-{}",
        jiff::Timestamp::now().strftime("%H%M%S")
    );
    let local = Local::up_voice(&stack, &network).await?;
    let hana = "+819012340009";
    local
        .apply_config(&format!(
            r#"
version: 1
people:
  hana:
    name: Hana
    language: ja-JP
    phone: "{hana}"
    email: hana@example.com
    notification_rules:
      high:
        - {{channel: email}}
        - {{channel: voice, after_seconds: 3}}
services:
  payments: {{escalation_policy: voice}}
escalation_policies:
  voice:
    levels:
      - {{targets: [hana], timeout_seconds: 60}}
routing:
  default: {{service: payments, severity: SEV1}}
"#
        ))
        .await?;
    network.script(hana, Script::Answer(vec![Press::Key('9'), Press::Key('4')]));
    println!(
        "\n7. Voice: stack {stack} calls from {LOCAL_VOICE_FROM} (Amazon Chime SDK PSTN Audio; here the simulated phone network)"
    );
    let pump = Pump::start(Arc::clone(&local));
    let name = format!(
        "決済API-5xx-demo-{}",
        jiff::Timestamp::now().strftime("%H%M%S")
    );
    let at = klaxon_core::time::iso(jiff::Timestamp::now());
    let outcome = local
        .deliver_alarm(&alarm(Delivery::EventBridge, &name, "ALARM", &at)?)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?;
    let [IntakeOutcome::Opened { incident_id: id }] = &outcome[..] else {
        return Err(HarnessError::Aws(format!("unexpected {outcome:?}")));
    };
    println!("   alarm {name}: incident {id}; Hana (ja-JP) is emailed at once, called after 3 s");
    let calls = network.ended(hana, 1, Duration::from_secs(60)).await?;
    pump.stop().await;
    let call = &calls[0];
    println!("   Calling Hana at {} ...", mask(hana));
    let mut keys = vec!['9', '4'].into_iter();
    for (i, s) in call.spoken.iter().enumerate() {
        println!(
            "   Klaxon says ({} {}): \"{}\"",
            s.voice_id, s.language, s.text
        );
        if i + 1 < call.spoken.len()
            && let Some(k) = keys.next()
        {
            println!("   Hana presses {k}");
        }
    }
    let incident = local
        .store
        .get(id)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?
        .ok_or_else(|| HarnessError::Aws("incident missing".into()))?;
    println!(
        "   {}: by {}",
        incident.status,
        incident.acknowledged_by.unwrap_or_default()
    );
    let timeline = local
        .store
        .timeline(id)
        .await
        .map_err(|e| HarnessError::Aws(e.to_string()))?;
    for c in call_summaries(&timeline) {
        println!(
            "   klaxon incidents show {id} → call to {} at {}: {}, keys {}",
            c.person,
            c.to,
            c.outcome
                .map(|o| o.to_string())
                .unwrap_or_else(|| "under way".into()),
            c.keys.join(", ")
        );
    }
    if incident.status != klaxon_core::incident::Status::Acknowledged {
        return Err(HarnessError::Aws("the keypress did not acknowledge".into()));
    }
    Ok(())
}
