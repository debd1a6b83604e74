// PaddleX's OCR serving endpoint, `POST /ocr`: `file` (base64 image bytes, or an http(s) URL where
// allowed) and `fileType` (1 image; 0 PDF is refused) in, `result.ocrResults[].prunedResult`
// with `rec_texts` / `rec_scores` out, errors as `errorCode` / `errorMsg`. ocrtune serves text
// recognizers, not detectors: the image is read as one text line, whose box is the whole image.
// `model` (an ocrtune extension) picks an adapter; `textRecScoreThresh` drops weaker lines as
// PaddleX does.
//
// Reference: PaddleX serving docs, "General OCR" pipeline (the /ocr API's request and
// response objects).

import Foundation
import Hummingbird

struct PaddleXOCRRequest: Decodable {
    var file: String
    var fileType: Int?
    var textRecScoreThresh: Double?
    var model: String?
}

struct OCRController {
    let state: ServeState

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/ocr") { request, _ in await self.ocr(request) }
    }

    func ocr(_ request: Request) async -> Response {
        let started = Date()
        let logID = UUID().uuidString.lowercased()
        let status: Int
        let response: Response
        do {
            let body = try await answer(request, started: started, logID: logID)
            status = 200
            response = jsonResponse(.ok, body)
        } catch {
            let e = serveError(error)
            status = Int(e.status.code)
            var headers: HTTPFields = [:]
            if let retry = e.retryAfter { headers[.retryAfter] = String(retry) }
            response = jsonResponse(e.status, e.paddleXBody(logID: logID), headers: headers)
        }
        state.metrics.request(endpoint: "/ocr", status: status, seconds: Date().timeIntervalSince(started))
        return response
    }

    private func answer(_ request: Request, started: Date, logID: String) async throws -> Data {
        let limits = state.configuration.limits
        let body = try await readBody(request, limit: limits.maxBodyBytes, timeout: limits.bodyTimeout)
        let r = try decodeJSON(PaddleXOCRRequest.self, from: body)
        guard state.kind == .lineRecognizer else {
            throw ServeError.badRequest("/ocr needs a text recognizer; this server's model answers prompts (use /v1/chat/completions)",
                                        code: "unsupported_model")
        }
        let adapter = try state.adapter(for: r.model)
        switch r.fileType {
        case nil, 1?: break
        case 0?: throw ServeError.badRequest("PDF files are not supported (send one image, fileType 1)", param: "fileType", code: "unsupported_file_type")
        default: throw ServeError.badRequest("fileType must be 0 (PDF) or 1 (image)", param: "fileType")
        }
        guard !r.file.isEmpty else { throw ServeError.badRequest("file is empty", param: "file") }
        let image = r.file.hasPrefix("http://") || r.file.hasPrefix("https://")
            ? try await state.image(url: r.file, param: "file")
            : try state.images.fromBase64(r.file, param: "file")
        let deadline = started.addingTimeInterval(limits.requestTimeout)
        let reading = try await state.worker.read([image], adapter: adapter, deadline: deadline)[0]
        let threshold = r.textRecScoreThresh ?? 0
        let (w, h) = (image.width, image.height)
        let poly: [[Int]] = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
        let score: Any = reading.score ?? NSNull()
        let kept = (reading.score ?? 1) >= threshold && !reading.text.isEmpty
        let pruned: [String: Any] = [
            "model_settings": ["use_doc_preprocessor": false, "use_textline_orientation": false],
            "dt_polys": [poly],
            "text_det_params": [String: Any](),
            "text_type": "general",
            "textline_orientation_angles": [-1],
            "text_rec_score_thresh": threshold,
            "rec_texts": kept ? [reading.text] : [],
            "rec_scores": kept ? [score] : [],
            "rec_polys": kept ? [poly] : [],
            "rec_boxes": kept ? [[0, 0, w - 1, h - 1]] : [],
        ]
        let result: [String: Any] = [
            "ocrResults": [["prunedResult": pruned, "ocrImage": NSNull(), "docPreprocessingImage": NSNull(), "inputImage": NSNull()]],
            "dataInfo": ["width": w, "height": h, "type": "image"],
        ]
        let object: [String: Any] = ["logId": logID, "errorCode": 0, "errorMsg": "Success", "result": result]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
