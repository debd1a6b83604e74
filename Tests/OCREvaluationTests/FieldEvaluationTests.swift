// Field-level scoring of a fields-task evaluation: reference fields from the dataset's `fields`
// column or the reference text, predictions read as JSON (fenced, extra keys, no object).

import Foundation
import OCRMetrics
import XCTest

@testable import OCREvaluation

final class FieldEvaluationTests: XCTestCase {
    let names = ["date", "total"]

    func samples() -> [EvalSample] {
        [
            EvalSample(id: "a", reference: "not JSON", metadata: ["fields": #"{"date": "2024-01-05", "total": "12.50"}"#]),
            EvalSample(id: "b", reference: #"{"date": "2023-12-31", "total": "7.00"}"#),
            EvalSample(id: "c", reference: #"{"date": "2022-02-02", "total": null}"#),
        ]
    }

    let predictions = [
        "```json\n{\"date\": \"2024-01-05\", \"total\": \"12.5\"}\n```",
        #"{"date": "2023-12-31", "total": "7.00", "vendor": "x"}"#,
        "no JSON here",
    ]

    func testScoresFieldsAgainstColumnOrReferenceText() throws {
        let report = try FieldEvaluation.score(samples: samples(), predictions: predictions, names: names)
        XCTAssertEqual(report.count, 3)
        // Predicted: 2 + 2 + 0 present fields; expected 2 + 2 + 1 (null is absent); 3 match.
        XCTAssertEqual(report.exact.truePositives, 3)
        XCTAssertEqual(report.exact.predicted, 4)
        XCTAssertEqual(report.exact.expected, 5)
        XCTAssertEqual(report.exact.precision, 0.75, accuracy: 1e-12)
        XCTAssertEqual(report.exact.recall, 0.6, accuracy: 1e-12)
        XCTAssertEqual(report.exact.f1, 2 * 0.75 * 0.6 / 1.35, accuracy: 1e-12)
        XCTAssertEqual(report.perField["date"]?.exact.truePositives, 2)
        XCTAssertEqual(report.perField["date"]?.exact.expected, 3)
        XCTAssertEqual(report.perField["total"]?.exact.truePositives, 1)
        XCTAssertEqual(report.perField["total"]?.exact.predicted, 2)
    }

    func testAddingPutsFieldsIntoTheReport() throws {
        let result = Evaluator.score(samples: samples(), predictions: predictions)
        XCTAssertNil(result.report.fields)
        let withFields = try FieldEvaluation.adding(to: result, names: names)
        XCTAssertEqual(withFields.report.fields?.exact.truePositives, 3)
        XCTAssertEqual(withFields.report.text, result.report.text)
        let json = try withFields.report.jsonString()
        XCTAssertTrue(json.contains("\"fields\""))
        XCTAssertTrue(json.contains("\"per_field\""))
    }

    func testReferenceWithoutJSONNamesTheSample() {
        let bad = [EvalSample(id: "z", reference: "plain text")]
        XCTAssertThrowsError(try FieldEvaluation.score(samples: bad, predictions: ["{}"], names: names)) { error in
            XCTAssertTrue("\(error)".contains("sample z"), "\(error)")
        }
    }
}
