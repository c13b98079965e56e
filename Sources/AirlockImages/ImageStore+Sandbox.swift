import AirlockSandbox

extension ImageStore {
    /// The sandbox's view of a stored image: its tree, digest and runtime config.
    public func sandboxRoot(for image: StoredImage, writable: ImageRoot.WritableRoot) -> ImageRoot {
        ImageRoot(rootfs: rootfs(image.digest), digest: image.digest.description,
                  environment: image.environmentMap, workingDirectory: image.workingDirectory, user: image.user,
                  writable: writable, uid: image.uid, gid: image.gid, scratchDirectory: rootsDirectory)
    }
}
