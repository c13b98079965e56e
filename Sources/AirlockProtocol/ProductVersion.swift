/// Airlock's release version, printed by `airlock --version` and put in packages; the guest
/// protocol has its own number (`ProtocolVersion`), which changes only with the wire format.
public enum ProductVersion {
    public static let current = "0.5.0"

    /// `airlock --version`'s line.
    public static var description: String {
        "airlock \(current) (guest protocol \(ProtocolVersion.current))"
    }
}
