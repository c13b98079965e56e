import Foundation

/// A minimal ustar writer: directories and regular files with short names, fixed mtime.
struct TarWriter {
    private var data = Data()

    mutating func directory(_ name: String) { header(name, size: 0, mode: 0o755, type: UInt8(ascii: "5")) }

    mutating func file(_ name: String, _ contents: Data, mode: Int = 0o644) {
        header(name, size: contents.count, mode: mode, type: UInt8(ascii: "0"))
        data.append(contents)
        data.append(Data(count: (512 - contents.count % 512) % 512))
    }

    mutating func finish() -> Data {
        data.append(Data(count: 1024))
        return data
    }

    private mutating func header(_ name: String, size: Int, mode: Int, type: UInt8) {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(String(value, radix: 8).suffix(width - 1)).leftPad(width - 1) , at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(mode, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(1_700_000_000, at: 136, width: 12)
        block[156] = type
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPad(6), at: 148, width: 6)
        block[154] = 0
        data.append(contentsOf: block)
    }
}

extension String {
    func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
