#!/bin/sh
# Regenerates Sources/AirlockOTLP/Generated from scripts/otlp-proto (run once; the output is
# committed so that builds need neither protoc nor the swift-protobuf plugin).
# Needs: protoc (Debian protobuf-compiler) and protoc-gen-swift 1.39.x on PATH (or
# PROTOC_GEN_SWIFT=path), e.g. built with `swift build --product protoc-gen-swift` in a
# checkout of apple/swift-protobuf at 1.39.0.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift)}
out="$root/Sources/AirlockOTLP/Generated"
rm -rf "$out" && mkdir -p "$out"
cd "$root/scripts/otlp-proto"
protoc --plugin=protoc-gen-swift="$plugin" --swift_out="$out" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    $(find opentelemetry -name '*.proto' | sort)
