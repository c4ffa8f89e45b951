/// What a run's tag may be (spec key `tags`, `trainlab tag`): one word, no comma, so tags
/// stay whole in `list`'s column and the comma-joined `tags` field of `export --wide`.
public enum RunTag {
    /// Why `tag` is refused, or nil when it is fine.
    public static func problem(_ tag: String) -> String? {
        if tag.isEmpty { return "a tag may not be empty" }
        if tag.contains(where: { $0.isWhitespace || $0 == "," }) { return "a tag is one word without commas, got '\(tag)'" }
        return nil
    }
}
