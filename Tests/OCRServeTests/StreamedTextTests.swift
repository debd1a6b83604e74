// What a streamed answer may send at each step: text before a stop sequence, a tail that could
// still become one held back, unfinished characters (U+FFFD) held back, deltas that add up.

import XCTest

@testable import OCRServe

final class StreamedTextTests: XCTestCase {
    func testDeltasAddUpToTheAnswer() {
        var s = StreamedText(stops: [])
        var out = ""
        for full in ["He", "Hell", "Hello", "Hello wor", "Hello world"] { out += s.advance(full, final: false).delta }
        out += s.advance("Hello world!", final: true).delta
        XCTAssertEqual(out, "Hello world!")
    }

    func testStopSequencesCutAndHoldBack() {
        var s = StreamedText(stops: ["END", "\n\n"])
        XCTAssertEqual(s.advance("abc E", final: false).delta, "abc ", "a tail that may start a stop is held back")
        XCTAssertEqual(s.advance("abc EN", final: false).delta, "")
        let (delta, stopped) = s.advance("abc END and more", final: false)
        XCTAssertEqual(delta, "")
        XCTAssertTrue(stopped)
        XCTAssertEqual(s.emitted, "abc ")
        XCTAssertEqual(s.final("abc END and more"), "abc ")
        var t = StreamedText(stops: ["END"])
        XCTAssertEqual(t.advance("x E", final: false).delta, "x ")
        XCTAssertEqual(t.advance("x Ex", final: false).delta, "Ex", "released once it cannot become a stop")
        XCTAssertEqual(StreamedText(stops: ["b", "a"]).cut("xxabxb").text, "xx", "the earliest stop wins")
    }

    func testUnfinishedCharactersWait() {
        var s = StreamedText(stops: [])
        XCTAssertEqual(s.advance("ab\u{FFFD}", final: false).delta, "ab")
        XCTAssertEqual(s.advance("ab文", final: false).delta, "文")
        // A combining mark joining the last sent character is sent on its own.
        XCTAssertEqual(s.advance("ab文e", final: false).delta, "e")
        XCTAssertEqual(s.advance("ab文e\u{301}", final: true).delta, "\u{301}")
        XCTAssertEqual(s.emitted, "ab文e\u{301}")
    }
}
