//! A call's arguments: what a voice call is for, carried with it to every
//! event of the call as the string map the SIP media application keeps.

use std::collections::BTreeMap;

/// What a call is for, carried with it (the call's arguments) to every
/// event of the call. Built only by Klaxon; the SIP media application's
/// events are the only way back in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallArguments {
    /// The person called (their configuration id).
    pub person: String,
    pub purpose: CallPurpose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallPurpose {
    /// A page: the incident and the escalation step.
    Page { incident_id: String, step: u32 },
    /// `klaxon test-notify`: acts on nothing.
    Test,
}

const PERSON: &str = "klaxon_person";
const INCIDENT: &str = "klaxon_incident";
const STEP: &str = "klaxon_step";
const PURPOSE: &str = "klaxon_purpose";

impl CallArguments {
    /// As the string map a call carries (at most 20 entries; these are 4).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        map.insert(PERSON.into(), self.person.clone());
        match &self.purpose {
            CallPurpose::Page { incident_id, step } => {
                map.insert(PURPOSE.into(), "page".into());
                map.insert(INCIDENT.into(), incident_id.clone());
                map.insert(STEP.into(), step.to_string());
            }
            CallPurpose::Test => {
                map.insert(PURPOSE.into(), "test".into());
            }
        }
        map
    }

    /// From a call's string map; the error names the missing or bad entry.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| {
            map.get(k)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{k} is missing"))
        };
        let person = get(PERSON)?.clone();
        let purpose = match get(PURPOSE)?.as_str() {
            "page" => CallPurpose::Page {
                incident_id: get(INCIDENT)?.clone(),
                step: get(STEP)?
                    .parse()
                    .map_err(|e| format!("{STEP} is not a step number: {e}"))?,
            },
            "test" => CallPurpose::Test,
            other => return Err(format!("{PURPOSE} '{other}' is neither page nor test")),
        };
        Ok(Self { person, purpose })
    }
}
