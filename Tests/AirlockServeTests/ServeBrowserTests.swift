import AirlockTestSupport
import AirlockCore
@testable import AirlockStoreSQLite
import Foundation
import Glibc
import Testing

/// The page in a real headless Chromium: a real run waits for approval, `airlock serve`
/// shows it, scripts/web-check.py clicks Approve in the page (real mouse events over the
/// DevTools protocol), and the run finishes with the web identity in its ledger. A
/// `<script>` the run printed must not execute.
@Suite("airlock serve in a headless browser",
       .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .enabled(if: hasChromium, "needs Debian's chromium (scripts/test.sh installs it)"),
       .timeLimit(.minutes(1)))
struct ServeBrowserTests {
    @Test("click Approve in chromium: the run finishes, the ledger names web:USER@127.0.0.1, a screenshot is saved")
    func clickApprove() async throws {
        let hostile = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
        let scene = try RunScene(turns: [RunScene.shell("printf '%s\\n' '\(hostile)'"), RunScene.shell("touch approved.txt"),
                                         RunScene.submit("done")])
        defer { scene.remove() }
        let run = try AirlockProcess(scene.runArguments("print hostile html, then touch a file"))
        defer { run.cleanUp() }
        #expect(await run.waitForOutput { $0.contains("approval_requested") }, "no approval was asked: \(run.stderr)")
        let serve = try AirlockProcess(["serve", "--port", "0", "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stderr)")
        let runID = try #require(run.stdout.split(separator: "\n").first.flatMap { line in
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["run"] as? String
        })

        // AIRLOCK_SCREENSHOT_DIR=docs refreshes the committed screenshots.
        let directory = ProcessInfo.processInfo.environment["AIRLOCK_SCREENSHOT_DIR"] ?? scene.root
        let screenshot = directory + "/serve-screenshot.png", after = directory + "/serve-run-screenshot.png"
        let arguments = [AirlockBinary.repository + "/scripts/web-check.py", "http://127.0.0.1:\(port)/approvals",
                         "--screenshot", screenshot, "--after-url", "http://127.0.0.1:\(port)/runs/\(runID)",
                         "--after-screenshot", after]
        // The browser takes seconds; its blocking wait gets a thread of its own rather than
        // one of the cooperative pool's two, which the tests beside this one need.
        let (status, data) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, Data), Never>) in
            Thread.detachNewThread {
                let check = Process()
                check.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
                check.arguments = arguments
                let output = Pipe()
                check.standardOutput = output
                check.standardError = FileHandle.nullDevice
                do { try check.run() } catch {
                    continuation.resume(returning: (-1, Data("cannot start web-check: \(error)".utf8)))
                    return
                }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                check.waitUntilExit()
                continuation.resume(returning: (check.terminationStatus, data))
            }
        }
        let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        #expect(status == 0, "web-check: \(String(decoding: data, as: UTF8.self))")
        let identity = "web:\(ServeScene.user)@127.0.0.1"
        #expect(report["status"] as? String == "Approved by \(identity)")
        #expect(report["injected_script_ran"] as? Bool == false)
        #expect(report["after_injected_script_ran"] as? Bool == false)
        #expect(report["run"] as? String == runID)

        #expect(await run.wait(limit: .seconds(30)) == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: scene.workspace + "/approved.txt"))
        let answer = try #require(try Store(stateDirectory: URL(fileURLWithPath: scene.stateDir))
            .approvalAnswer(run: runID, call: report["call"] as? String ?? ""))
        #expect(answer.by == identity && answer.decision == .approve)
        let png = FileManager.default.contents(atPath: screenshot) ?? Data()
        #expect(png.count > 10_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "not a PNG screenshot: \(png.count) bytes")
    }
}
