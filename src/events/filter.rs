//! Typed subscriptions: what a [`Subscriber`](super::Subscriber) asks the publisher for, and
//! the exact check it applies to what arrives.
//!
//! ZeroMQ filters by key prefix at the publisher. Each filter subscribes to the narrowest
//! prefix that covers it, and every message that arrives is checked again against the
//! filters on its parsed key: a prefix can cover more than was asked for (the Ruby binding's
//! wait subscribes `EVENT STATE VM/ACTIVE/RUNNING/42`, which VM 420 matches too), and a
//! publisher may send more than it was asked for.
//!
//! oned publishes each state change under two keys (per object and per state, plus one per
//! OneFlow service). A subscriber delivers each change once: filters with an ID read the
//! per-object keys, filters without one the per-state keys, service filters the service
//! keys; when filters of several of these families match one change, the per-state copy is
//! delivered, else the per-object one, and the others are dropped as duplicates.

use super::message::{self, Key, ObjectKind};
use crate::api::{HostState, ImageState, LcmState, VirtualNetworkState, VmState};

/// What to receive. Combine several in one [`Subscriber`](super::Subscriber).
///
/// ```
/// use opennebula::api::{LcmState, VmState};
/// use opennebula::events::Filter;
/// let filters = [
///     Filter::vms(),                                              // every VM state change
///     Filter::vm(42),                                             // VM 42's changes only
///     Filter::vm_state(VmState::Active, Some(LcmState::Running)), // any VM reaching RUNNING
///     Filter::api_call_result("one.vm.deploy", false),            // failed deploys
/// ];
/// assert_eq!(filters[1].prefix(), "EVENT VM 42/");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter(Kind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Everything,
    State {
        object: ObjectKind,
        id: Option<i32>,
        state: Option<String>,
        lcm_state: Option<String>,
    },
    Api {
        method: Option<String>,
        success: Option<bool>,
    },
    Service(i32),
    Retry,
}

/// Which copy of a state change a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    // In delivery priority order: a change matched by filters of several families is
    // delivered from the first one.
    State,
    Object,
    Service,
}

/// A state change as keys and messages describe it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Change<'a> {
    pub object: ObjectKind,
    pub id: i32,
    pub state: &'a str,
    pub lcm_state: &'a str,
}

impl Filter {
    /// Everything: every API call, state change and hook retry (each state change once).
    pub fn everything() -> Self {
        Filter(Kind::Everything)
    }

    fn state(
        object: ObjectKind,
        id: Option<i32>,
        state: Option<String>,
        lcm: Option<String>,
    ) -> Self {
        Filter(Kind::State {
            object,
            id,
            state,
            lcm_state: lcm,
        })
    }

    /// Every state change of every VM.
    pub fn vms() -> Self {
        Self::state(ObjectKind::Vm, None, None, None)
    }

    /// Every state change of VM `id` (and of no other: VM 420 does not match VM 42).
    pub fn vm(id: i32) -> Self {
        Self::state(ObjectKind::Vm, Some(id), None, None)
    }

    /// Any VM entering `state` (and `lcm_state`, when given).
    pub fn vm_state(state: VmState, lcm_state: Option<LcmState>) -> Self {
        Self::state(
            ObjectKind::Vm,
            None,
            Some(message::vm_state_name(state)),
            lcm_state.map(message::lcm_state_name),
        )
    }

    /// VM `id` entering `state` (and `lcm_state`, when given).
    pub fn vm_in_state(id: i32, state: VmState, lcm_state: Option<LcmState>) -> Self {
        Self::state(
            ObjectKind::Vm,
            Some(id),
            Some(message::vm_state_name(state)),
            lcm_state.map(message::lcm_state_name),
        )
    }

    /// Every state change of every host.
    pub fn hosts() -> Self {
        Self::state(ObjectKind::Host, None, None, None)
    }

    /// Every state change of host `id`.
    pub fn host(id: i32) -> Self {
        Self::state(ObjectKind::Host, Some(id), None, None)
    }

    /// Any host entering `state`.
    pub fn host_state(state: HostState) -> Self {
        Self::state(
            ObjectKind::Host,
            None,
            Some(message::host_state_name(state)),
            None,
        )
    }

    /// Every state change of every image.
    pub fn images() -> Self {
        Self::state(ObjectKind::Image, None, None, None)
    }

    /// Every state change of image `id`.
    pub fn image(id: i32) -> Self {
        Self::state(ObjectKind::Image, Some(id), None, None)
    }

    /// Any image entering `state` (oned names USED_PERS `USED`: both match either).
    pub fn image_state(state: ImageState) -> Self {
        Self::state(
            ObjectKind::Image,
            None,
            Some(message::image_state_name(state)),
            None,
        )
    }

    /// Every state change of every virtual network.
    pub fn networks() -> Self {
        Self::state(ObjectKind::Network, None, None, None)
    }

    /// Every state change of virtual network `id`.
    pub fn network(id: i32) -> Self {
        Self::state(ObjectKind::Network, Some(id), None, None)
    }

    /// Any virtual network entering `state`.
    pub fn network_state(state: VirtualNetworkState) -> Self {
        Self::state(
            ObjectKind::Network,
            None,
            Some(message::network_state_name(state)),
            None,
        )
    }

    /// Every state change of objects of `object` kind, optionally of one ID only.
    pub fn objects(object: ObjectKind, id: Option<i32>) -> Self {
        Self::state(object, id, None, None)
    }

    /// Every state change of the VMs of OneFlow service `id`.
    pub fn service(id: i32) -> Self {
        Filter(Kind::Service(id))
    }

    /// Every API call (oned publishes all but the info calls).
    pub fn api_calls() -> Self {
        Filter(Kind::Api {
            method: None,
            success: None,
        })
    }

    /// Every call of `method` (`one.vm.deploy`; the `one.` prefix may be left out).
    pub fn api_call(method: &str) -> Self {
        Filter(Kind::Api {
            method: Some(full_method(method)),
            success: None,
        })
    }

    /// The calls of `method` that succeeded (`true`) or failed (`false`).
    pub fn api_call_result(method: &str, success: bool) -> Self {
        Filter(Kind::Api {
            method: Some(full_method(method)),
            success: Some(success),
        })
    }

    /// Every call of any method that succeeded (`true`) or failed (`false`): the publisher
    /// sends every call, the subscriber keeps these.
    pub fn api_results(success: bool) -> Self {
        Filter(Kind::Api {
            method: None,
            success: Some(success),
        })
    }

    /// Hook retries (`RETRY`).
    pub fn retries() -> Self {
        Filter(Kind::Retry)
    }

    /// The ZeroMQ prefix this filter subscribes to.
    pub fn prefix(&self) -> String {
        match &self.0 {
            Kind::Everything => String::new(),
            Kind::Retry => message::RETRY_KEY.into(),
            Kind::Service(id) => format!("EVENT SERVICE {id} "),
            Kind::Api { method, success } => match (method, success) {
                (None, _) => "EVENT API ".into(),
                (Some(method), None) => format!("EVENT API {method} "),
                (Some(method), Some(success)) => {
                    format!("EVENT API {method} {}", u8::from(*success))
                }
            },
            Kind::State {
                object,
                id: Some(id),
                state,
                lcm_state,
            } => match (state, lcm_state) {
                (None, _) => format!("EVENT {object} {id}/"),
                (Some(state), None) if *object == ObjectKind::Vm => {
                    format!("EVENT {object} {id}/{state}/")
                }
                (Some(state), lcm) => {
                    format!(
                        "EVENT {object} {id}/{state}/{} ",
                        lcm.as_deref().unwrap_or("")
                    )
                }
            },
            Kind::State {
                object,
                id: None,
                state,
                lcm_state,
            } => match (state, lcm_state) {
                (None, _) => format!("EVENT STATE {object}/"),
                (Some(state), None) if *object == ObjectKind::Vm => {
                    format!("EVENT STATE {object}/{state}/")
                }
                (Some(state), lcm) => {
                    format!(
                        "EVENT STATE {object}/{state}/{}/",
                        lcm.as_deref().unwrap_or("")
                    )
                }
            },
        }
    }

    /// The family of state-change copies this filter reads, if it reads state changes.
    pub(crate) fn family(&self) -> Option<Family> {
        match &self.0 {
            Kind::Everything => Some(Family::State),
            Kind::State { id: Some(_), .. } => Some(Family::Object),
            Kind::State { id: None, .. } => Some(Family::State),
            Kind::Service(_) => Some(Family::Service),
            Kind::Api { .. } | Kind::Retry => None,
        }
    }

    /// Whether this filter covers the state change (whatever the family of its copy).
    pub(crate) fn matches_change(&self, change: &Change<'_>) -> bool {
        match &self.0 {
            Kind::Everything => true,
            Kind::State {
                object,
                id,
                state,
                lcm_state,
            } => {
                *object == change.object
                    && id.is_none_or(|id| id == change.id)
                    && state.as_deref().is_none_or(|s| s == change.state)
                    && lcm_state.as_deref().is_none_or(|l| l == change.lcm_state)
            }
            _ => false,
        }
    }

    /// Whether this filter covers an API call or a retry.
    fn matches_other(&self, key: &Key) -> bool {
        match (&self.0, key) {
            (Kind::Everything, Key::Api { .. } | Key::Retry) => true,
            (Kind::Retry, Key::Retry) => true,
            (
                Kind::Api { method, success },
                Key::Api {
                    method: called,
                    success: succeeded,
                },
            ) => {
                method.as_deref().is_none_or(|m| m == called)
                    && success.is_none_or(|s| s == *succeeded)
            }
            _ => false,
        }
    }
}

fn full_method(method: &str) -> String {
    if method.starts_with("one.") {
        method.to_string()
    } else {
        format!("one.{method}")
    }
}

/// What the subscriber does with an arriving key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it.
    Deliver,
    /// A service key: deliver unless a filter of a higher family covers the change, which
    /// only its message tells (decide with [`FilterSet::service_change_wanted`]).
    CheckService,
    /// Nothing asked for it (a prefix matched more than a filter wants).
    NotWanted,
    /// A copy of a change that is delivered under another key.
    Duplicate,
}

/// The filters of one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterSet {
    filters: Vec<Filter>,
}

impl FilterSet {
    pub(crate) fn new(filters: Vec<Filter>) -> Self {
        let mut unique = Vec::with_capacity(filters.len());
        for filter in filters {
            if !unique.contains(&filter) {
                unique.push(filter);
            }
        }
        FilterSet { filters: unique }
    }

    pub(crate) fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// The prefixes to subscribe to, without repeats and without prefixes that another one
    /// covers.
    pub(crate) fn prefixes(&self) -> Vec<String> {
        let mut prefixes: Vec<String> = self.filters.iter().map(Filter::prefix).collect();
        prefixes.sort();
        prefixes.dedup();
        let all = prefixes.clone();
        prefixes.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q.as_str())));
        prefixes
    }

    /// The decision for a key.
    pub(crate) fn verdict(&self, key: &Key) -> Verdict {
        let (family, change) = match key {
            Key::Api { .. } | Key::Retry => {
                return if self.filters.iter().any(|f| f.matches_other(key)) {
                    Verdict::Deliver
                } else {
                    Verdict::NotWanted
                };
            }
            Key::Service { id } => {
                let wanted = self
                    .filters
                    .iter()
                    .any(|f| matches!(f.0, Kind::Service(s) if s == *id));
                return if wanted {
                    Verdict::CheckService
                } else {
                    Verdict::NotWanted
                };
            }
            Key::State {
                object,
                id,
                state,
                lcm_state,
            } => (Family::State, change(*object, *id, state, lcm_state)),
            Key::Object {
                object,
                id,
                state,
                lcm_state,
            } => (Family::Object, change(*object, *id, state, lcm_state)),
        };
        self.state_verdict(family, &change)
    }

    fn state_verdict(&self, family: Family, change: &Change<'_>) -> Verdict {
        let mut wanted = false;
        for filter in &self.filters {
            let Some(other) = filter.family() else {
                continue;
            };
            if !filter.matches_change(change) {
                continue;
            }
            if other < family {
                return Verdict::Duplicate;
            }
            wanted |= other == family;
        }
        if wanted {
            Verdict::Deliver
        } else {
            Verdict::NotWanted
        }
    }

    /// For a service key: whether its change is delivered from this copy (no per-state or
    /// per-object filter covers it).
    pub(crate) fn service_change_wanted(&self, change: &Change<'_>) -> bool {
        !self.filters.iter().any(|f| {
            f.family().is_some_and(|family| family < Family::Service) && f.matches_change(change)
        })
    }
}

fn change<'a>(object: ObjectKind, id: i32, state: &'a str, lcm_state: &'a str) -> Change<'a> {
    Change {
        object,
        id,
        state,
        lcm_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key::parse(text).unwrap()
    }

    #[test]
    fn prefixes_are_the_narrowest_oned_keys_cover() {
        let cases = [
            (Filter::everything(), ""),
            (Filter::vms(), "EVENT STATE VM/"),
            (Filter::vm(42), "EVENT VM 42/"),
            (
                Filter::vm_state(VmState::Active, Some(LcmState::Running)),
                "EVENT STATE VM/ACTIVE/RUNNING/",
            ),
            (
                Filter::vm_state(VmState::Active, None),
                "EVENT STATE VM/ACTIVE/",
            ),
            (
                Filter::vm_in_state(42, VmState::Active, Some(LcmState::Running)),
                "EVENT VM 42/ACTIVE/RUNNING ",
            ),
            (
                Filter::vm_in_state(42, VmState::Done, None),
                "EVENT VM 42/DONE/",
            ),
            (Filter::host(3), "EVENT HOST 3/"),
            (
                Filter::host_state(HostState::Error),
                "EVENT STATE HOST/ERROR//",
            ),
            (
                Filter::image_state(ImageState::UsedPers),
                "EVENT STATE IMAGE/USED//",
            ),
            (Filter::networks(), "EVENT STATE NET/"),
            (Filter::network(7), "EVENT NET 7/"),
            (Filter::service(5), "EVENT SERVICE 5 "),
            (Filter::api_calls(), "EVENT API "),
            (Filter::api_call("vm.update"), "EVENT API one.vm.update "),
            (
                Filter::api_call_result("one.vm.update", true),
                "EVENT API one.vm.update 1",
            ),
            (Filter::api_results(false), "EVENT API "),
            (Filter::retries(), "RETRY"),
        ];
        for (filter, prefix) in cases {
            assert_eq!(filter.prefix(), prefix, "{filter:?}");
        }
        let set = FilterSet::new(vec![
            Filter::vms(),
            Filter::vm(1),
            Filter::vms(),
            Filter::api_calls(),
        ]);
        assert_eq!(
            set.prefixes(),
            ["EVENT API ", "EVENT STATE VM/", "EVENT VM 1/"]
        );
        let set = FilterSet::new(vec![Filter::api_calls(), Filter::api_call("one.vm.deploy")]);
        assert_eq!(set.prefixes(), ["EVENT API "]);
    }

    #[test]
    fn ids_match_exactly_whatever_the_prefix_let_through() {
        let set = FilterSet::new(vec![Filter::vm(42)]);
        assert_eq!(
            set.verdict(&key("EVENT VM 42/ACTIVE/RUNNING ")),
            Verdict::Deliver
        );
        assert_eq!(
            set.verdict(&key("EVENT VM 420/ACTIVE/RUNNING ")),
            Verdict::NotWanted
        );
        assert_eq!(
            set.verdict(&key("EVENT VM 4/ACTIVE/RUNNING ")),
            Verdict::NotWanted
        );
        assert_eq!(
            set.verdict(&key("EVENT STATE VM/ACTIVE/RUNNING/42 ")),
            Verdict::NotWanted
        );
        assert_eq!(
            set.verdict(&key("EVENT HOST 42/INIT/ ")),
            Verdict::NotWanted
        );
        let set = FilterSet::new(vec![Filter::vm_state(
            VmState::Active,
            Some(LcmState::Running),
        )]);
        assert_eq!(
            set.verdict(&key("EVENT STATE VM/ACTIVE/RUNNING/420 ")),
            Verdict::Deliver
        );
        assert_eq!(
            set.verdict(&key("EVENT STATE VM/ACTIVE/RUNNING_X/4 ")),
            Verdict::NotWanted
        );
    }

    #[test]
    fn each_change_is_delivered_once() {
        let set = FilterSet::new(vec![Filter::vms(), Filter::vm(1), Filter::service(9)]);
        assert_eq!(
            set.verdict(&key("EVENT STATE VM/ACTIVE/BOOT/1 ")),
            Verdict::Deliver
        );
        assert_eq!(
            set.verdict(&key("EVENT VM 1/ACTIVE/BOOT ")),
            Verdict::Duplicate
        );
        assert_eq!(set.verdict(&key("EVENT SERVICE 9 ")), Verdict::CheckService);
        let change = change(ObjectKind::Vm, 1, "ACTIVE", "BOOT");
        assert!(!set.service_change_wanted(&change));

        let set = FilterSet::new(vec![Filter::vm(1), Filter::service(9)]);
        assert_eq!(
            set.verdict(&key("EVENT VM 1/ACTIVE/BOOT ")),
            Verdict::Deliver
        );
        assert!(!set.service_change_wanted(&change));
        let other = super::change(ObjectKind::Vm, 2, "ACTIVE", "BOOT");
        assert!(set.service_change_wanted(&other));

        let set = FilterSet::new(vec![Filter::everything()]);
        assert_eq!(
            set.verdict(&key("EVENT STATE HOST/INIT//0 ")),
            Verdict::Deliver
        );
        assert_eq!(set.verdict(&key("EVENT HOST 0/INIT/ ")), Verdict::Duplicate);
        assert_eq!(set.verdict(&key("EVENT SERVICE 9 ")), Verdict::NotWanted);
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.action 0")),
            Verdict::Deliver
        );
        assert_eq!(set.verdict(&key("RETRY")), Verdict::Deliver);
    }

    #[test]
    fn api_filters_match_method_and_outcome() {
        let set = FilterSet::new(vec![Filter::api_call_result("one.vm.update", true)]);
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.update 1")),
            Verdict::Deliver
        );
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.update 0")),
            Verdict::NotWanted
        );
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.updateconf 1")),
            Verdict::NotWanted
        );
        let set = FilterSet::new(vec![Filter::api_results(false)]);
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.deploy 0")),
            Verdict::Deliver
        );
        assert_eq!(
            set.verdict(&key("EVENT API one.vm.deploy 1")),
            Verdict::NotWanted
        );
        assert_eq!(set.verdict(&key("RETRY")), Verdict::NotWanted);
    }
}
