// rustgate probe crate: replaced by each sample's own code.
