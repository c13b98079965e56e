import Crypto

enum ContentHash {
    static func digest(of bytes: some DataProtocol) -> Digest {
        Digest(hexDigits: hex(SHA256.hash(data: bytes)))
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import Foundation
