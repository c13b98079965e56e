import CAirlockImages
import Crypto
import Glibc

/// A pull stream of bytes: the layer pipeline is file → gunzip → metering → tar.
protocol ByteSource: AnyObject {
    /// Fills part of `buffer`; 0 means the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int
}

extension Array where Element == UInt8 {
    /// Reads from `source` into `range` of this buffer (all of it when nil). Array's
    /// closures only rethrow untyped errors; this keeps ImageError typed.
    mutating func read(_ range: Range<Int>? = nil, from source: any ByteSource) throws(ImageError) -> Int {
        var failure: ImageError?
        let count = withUnsafeMutableBytes { raw -> Int in
            let slice = range.map { UnsafeMutableRawBufferPointer(rebasing: raw[$0]) } ?? raw
            do throws(ImageError) { return try source.read(into: slice) } catch { failure = error; return 0 }
        }
        if let failure { throw failure }
        return count
    }

    /// Hands `range` of this buffer to `body`, keeping its ImageError typed.
    func withBytes(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        var failure: ImageError?
        withUnsafeBytes { raw in
            do throws(ImageError) { try body(UnsafeRawBufferPointer(rebasing: raw[range])) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// `length` bytes of an open file from `offset` (a blob, or a member of an outer tar).
final class FileSource: ByteSource {
    let fd: Int32
    private var offset: Int
    private var remaining: Int

    init(fd: Int32, offset: Int, length: Int) {
        self.fd = fd
        self.offset = offset
        self.remaining = length
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard remaining > 0, let base = buffer.baseAddress else { return 0 }
        while true {
            let count = pread(fd, base, min(buffer.count, remaining), off_t(offset))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ImageError.io("cannot read a blob", errno) }
            guard count > 0 else {
                throw ImageError(.invalid, "a blob ended \(remaining) bytes early (truncated file)")
            }
            offset += count
            remaining -= count
            return count
        }
    }
}

/// gzip through zlib, refusing a truncated or corrupt stream (a clean end needs a whole
/// last member); concatenated members are read as one stream, as gzip does.
final class GunzipSource: ByteSource {
    private let upstream: any ByteSource
    private let stream: OpaquePointer
    private var input = [UInt8](repeating: 0, count: 1 << 18)
    private var start = 0
    private var end = 0
    private var upstreamDone = false
    private var inMember = true

    init(_ upstream: any ByteSource) throws(ImageError) {
        guard let stream = airlock_gunzip_new() else { throw ImageError(.io, "cannot start a gzip decoder") }
        self.upstream = upstream
        self.stream = stream
    }

    deinit { airlock_gunzip_free(stream) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        guard let out = buffer.baseAddress else { return 0 }
        while true {
            if start == end && !upstreamDone {
                let count = try input.read(from: upstream)
                if count == 0 { upstreamDone = true } else { start = 0; end = count }
            }
            if start == end && upstreamDone {
                if inMember { throw ImageError(.invalid, "the gzip stream is truncated") }
                return 0
            }
            var consumed = 0, produced = 0
            let rc = input.withUnsafeBytes { raw in
                airlock_gunzip_step(stream, raw.baseAddress?.assumingMemoryBound(to: UInt8.self).advanced(by: start),
                                    end - start, &consumed,
                                    out.assumingMemoryBound(to: UInt8.self), buffer.count, &produced)
            }
            if rc < 0 { throw ImageError(.invalid, "the gzip stream is corrupt") }
            if consumed > 0 { inMember = true }
            start += consumed
            if rc == 1 { inMember = false }
            if produced > 0 { return produced }
            if rc == 0 && consumed == 0 && start != end {
                throw ImageError(.invalid, "the gzip stream is corrupt (no progress)")
            }
        }
    }
}

/// Counts and hashes what passes through, stopping at a byte limit.
final class MeteredSource: ByteSource {
    private let upstream: any ByteSource
    private var hasher = SHA256()
    private(set) var count = 0
    private let limit: Int
    private let onLimit: @Sendable () -> ImageError

    init(_ upstream: any ByteSource, limit: Int, onLimit: @escaping @Sendable () -> ImageError) {
        self.upstream = upstream
        self.limit = limit
        self.onLimit = onLimit
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
        let got = try upstream.read(into: buffer)
        guard got > 0 else { return 0 }
        count += got
        if count > limit { throw onLimit() }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        return got
    }

    /// Drains the rest (tar padding after the end blocks counts towards the digest).
    func drain() throws(ImageError) {
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while try scratch.read(from: self) > 0 {}
    }

    func digest() -> Digest {
        Digest(hexDigits: ContentHash.hex(hasher.finalize()))
    }
}

import Foundation
