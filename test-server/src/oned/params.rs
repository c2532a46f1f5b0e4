//! A call's parameters after the session, already type-checked by the protocol adapter
//! against the method table (`opennebula::api::METHODS`).

use opennebula::api::MethodInfo;
use opennebula::wire::Value;

/// The parameters of one call. A parameter the caller left out reads as the table's server
/// default (what oned uses then), or as the explicit default a handler gives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    values: &'a [Value],
    method: Option<&'static MethodInfo>,
}

impl<'a> Params<'a> {
    /// The parameters `values` of `method`.
    pub(crate) fn new(values: &'a [Value], method: Option<&'static MethodInfo>) -> Self {
        Params { values, method }
    }

    /// Parameter `index` as given, or the table's default for it.
    pub(crate) fn get(&self, index: usize) -> Option<&'a Value> {
        self.values
            .get(index)
            .or_else(|| self.method?.params.get(index)?.default_value.as_ref())
    }

    pub(crate) fn int(&self, index: usize) -> i32 {
        match self.get(index) {
            Some(Value::Int(i)) => *i,
            _ => -1,
        }
    }

    pub(crate) fn int_or(&self, index: usize, default: i32) -> i32 {
        match self.values.get(index) {
            Some(Value::Int(i)) => *i,
            _ => default,
        }
    }

    pub(crate) fn str(&self, index: usize) -> &'a str {
        match self.get(index) {
            Some(Value::String(s)) => s,
            _ => "",
        }
    }

    pub(crate) fn bool_or(&self, index: usize, default: bool) -> bool {
        match self.values.get(index) {
            Some(Value::Bool(b)) => *b,
            _ => default,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}
