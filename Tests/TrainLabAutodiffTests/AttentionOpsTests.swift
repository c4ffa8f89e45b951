import XCTest
import Foundation
import TrainLabKernels
@testable import TrainLabAutodiff

/// Float64 twins of the attention, rotary and embedding ops (plain loops), for the gradient checks.
enum AttentionReference {
    /// y[b, i, h] = Σ_j softmax_j(q[b, i, h] · k[b, j, g] / √D) v[b, j, g], j ≤ i when causal.
    // q (B, T, H, D), k and v (B, T, Hkv, D)
    static func attention(_ q: [Double], _ k: [Double], _ v: [Double], batch: Int, length: Int, heads: Int,
                          kvHeads: Int, headSize d: Int, causal: Bool) -> [Double] {
        let scale = 1 / Double(d).squareRoot()
        var out = [Double](repeating: 0, count: q.count)
        for b in 0..<batch {
            for h in 0..<heads {
                let g = h / (heads / kvHeads)
                for i in 0..<length {
                    let query = ((b * length + i) * heads + h) * d
                    let keys = causal ? i + 1 : length
                    var scores = [Double](repeating: 0, count: keys)
                    for j in 0..<keys {
                        let key = ((b * length + j) * kvHeads + g) * d
                        var s = 0.0
                        for e in 0..<d { s += q[query + e] * k[key + e] }
                        scores[j] = s * scale
                    }
                    let p = Reference.softmax(scores[...])
                    for j in 0..<keys {
                        let value = ((b * length + j) * kvHeads + g) * d
                        for e in 0..<d { out[query + e] += p[j] * v[value + e] }
                    }
                }
            }
        }
        return out
    }

    /// Half-split RoPE: pairs (i, i + D/2) turned by t · base^(-2i/D).
    // x (B, T, H, D)
    static func rotary(_ x: [Double], batch: Int, length: Int, heads: Int, headSize d: Int, base: Double) -> [Double] {
        var y = x
        let half = d / 2
        for b in 0..<batch {
            for t in 0..<length {
                for h in 0..<heads {
                    let o = ((b * length + t) * heads + h) * d
                    for i in 0..<half {
                        let angle = Double(t) * Foundation.pow(base, -2 * Double(i) / Double(d))
                        let (c, s) = (Foundation.cos(angle), Foundation.sin(angle))
                        y[o + i] = x[o + i] * c - x[o + i + half] * s
                        y[o + i + half] = x[o + i + half] * c + x[o + i] * s
                    }
                }
            }
        }
        return y
    }
}

/// The fused attention, rotary and embedding ops: gradient checks against Float64 references
/// (GQA with kv_heads 1, 2 and = heads, causal or not, row blocks that split T unevenly), the
/// fused kernel against the same attention composed of existing tape ops on a longer sequence,
/// the causal mask, and bit-identical results for any thread count.
final class AttentionOpsTests: XCTestCase {
    let tolerance = 2e-3
    let checker = GradientCheck()
    let pool = ThreadPool(threads: 2)

    func assertPasses(_ report: GradientCheck.Report, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(report.worstError, tolerance, "\(what): \(report)", file: file, line: line)
        XCTAssertLessThan(report.forwardError, 1e-4, "\(what) forward: \(report)", file: file, line: line)
    }

    func testAttentionGradientsForEveryHeadGrouping() {
        let (batch, length, heads, d) = (2, 5, 4, 3)
        for kvHeads in [1, 2, 4] {
            for causal in [false, true] {
                // Row blocks of 2 split T = 5 into 2 + 2 + 1 (causal blocks then skip key columns).
                for rowBlock in [2, AttentionKernels.defaultRowBlock] {
                    let q = randomTensor([batch, length, heads, d], seed: 21, low: -1.5, high: 1.5)
                    let k = randomTensor([batch, length, kvHeads, d], seed: 22, low: -1.5, high: 1.5)
                    let v = randomTensor([batch, length, kvHeads, d], seed: 23)
                    let report = checker.run(inputs: [q, k, v], pool: pool) { tape, x in
                        tape.attention(x[0], x[1], x[2], causal: causal, rowBlock: rowBlock)
                    } reference: { x in
                        AttentionReference.attention(x[0], x[1], x[2], batch: batch, length: length, heads: heads,
                                                     kvHeads: kvHeads, headSize: d, causal: causal)
                    }
                    assertPasses(report, "attention kv_heads \(kvHeads) causal \(causal) row block \(rowBlock)")
                }
            }
        }
    }

    func testRotaryEmbeddingGradientAndValues() {
        let (batch, length, heads, d) = (2, 5, 3, 6)
        for base in [10000.0, 10.0] {
            let x = randomTensor([batch, length, heads, d], seed: 24)
            let report = checker.run(inputs: [x], pool: pool) { $0.rotaryEmbedding($1[0], base: base) } reference: { x in
                AttentionReference.rotary(x[0], batch: batch, length: length, heads: heads, headSize: d, base: base)
            }
            assertPasses(report, "rotaryEmbedding base \(base)")
        }
        // D = 2: one pair per head turned by t radians (θ_0 = 1); position 0 is left alone.
        let tape = Tape(pool: .serial)
        let x = Tensor(shape: [1, 3, 1, 2], values: [1, 0, 1, 0, 0, 1])
        let y = tape.value(tape.rotaryEmbedding(tape.constant(x))).scalars
        let expected: [Float] = [1, 0, cos(1), sin(1), -sin(2), cos(2)]
        for (a, e) in zip(y, expected) { XCTAssertEqual(a, e, accuracy: 1e-6) }
    }

    /// Attention after RoPE on q and k (the Transformer's path) differentiates through both ops.
    func testRotaryThenCausalGroupedAttention() {
        let (batch, length, heads, kvHeads, d) = (1, 6, 4, 2, 4)
        let q = randomTensor([batch, length, heads, d], seed: 25, low: -1.5, high: 1.5)
        let k = randomTensor([batch, length, kvHeads, d], seed: 26, low: -1.5, high: 1.5)
        let v = randomTensor([batch, length, kvHeads, d], seed: 27)
        let report = checker.run(inputs: [q, k, v], pool: pool) { tape, x in
            tape.attention(tape.rotaryEmbedding(x[0]), tape.rotaryEmbedding(x[1]), x[2], causal: true, rowBlock: 4)
        } reference: { x in
            let rq = AttentionReference.rotary(x[0], batch: batch, length: length, heads: heads, headSize: d, base: 10000)
            let rk = AttentionReference.rotary(x[1], batch: batch, length: length, heads: kvHeads, headSize: d, base: 10000)
            return AttentionReference.attention(rq, rk, x[2], batch: batch, length: length, heads: heads, kvHeads: kvHeads,
                                                headSize: d, causal: true)
        }
        assertPasses(report, "attention of rotary q, k")
    }

    func testEmbeddingGradientWithRepeatedIds() {
        let table = randomTensor([7, 5], seed: 28)
        let ids = [3, 0, 3, 6, 3, 1]
        let report = checker.run(inputs: [table], pool: pool) { $0.embedding($1[0], ids: ids) } reference: { x in
            ids.flatMap { x[0][($0 * 5)..<($0 * 5 + 5)] }
        }
        assertPasses(report, "embedding")
        XCTAssertEqual(Tape.tokenIds(Tensor(shape: [2, 2], values: [0, 6, 2, 3]), vocabulary: 7), [0, 6, 2, 3])
    }

    /// The same attention composed of existing ops (gathers that split heads and repeat key/value
    /// heads, batched matmuls, a mask added before the softmax) on T = 70, so the default row
    /// block of 64 leaves a partial second block: forward and every input gradient agree.
    func testFusedMatchesComposedAttention() {
        let (batch, length, heads, kvHeads, d) = (2, 70, 4, 2, 8)
        for causal in [false, true] {
            let q = randomTensor([batch, length, heads, d], seed: 31, low: -2, high: 2)
            let k = randomTensor([batch, length, kvHeads, d], seed: 32, low: -2, high: 2)
            let v = randomTensor([batch, length, kvHeads, d], seed: 33)
            let seed = randomTensor([batch, length, heads, d], seed: 34)

            let fused = Tape(pool: pool)
            let fq = fused.input(q), fk = fused.input(k), fv = fused.input(v)
            let fy = fused.attention(fq, fk, fv, causal: causal)
            fused.backward(from: fy, seed: seed)

            let composed = Tape(pool: pool)
            let cq = composed.input(q), ck = composed.input(k), cv = composed.input(v)
            // (B, T, heads', D) -> (B·H, T, D), head h of the result reading source head h / repeat.
            func split(_ x: Variable, sourceHeads: Int) -> Variable {
                var indices: [Int] = []
                for b in 0..<batch {
                    for h in 0..<heads {
                        for t in 0..<length {
                            for e in 0..<d {
                                indices.append(((b * length + t) * sourceHeads + h / (heads / sourceHeads)) * d + e)
                            }
                        }
                    }
                }
                return composed.reshape(composed.gatherElements(x, at: indices), to: [batch * heads, length, d])
            }
            let scores = composed.scale(composed.batchedMatmul(split(cq, sourceHeads: heads), split(ck, sourceHeads: kvHeads),
                                                               transposeB: true), by: 1 / Float(d).squareRoot())
            let mask = Tensor(shape: [batch * heads, length, length])
            if causal {
                for n in 0..<(batch * heads) {
                    for i in 0..<length { for j in (i + 1)..<max(length, i + 1) { mask[(n * length + i) * length + j] = -1e9 } }
                }
            }
            let probabilities = composed.softmax(composed.add(scores, composed.constant(mask)))
            let attended = composed.batchedMatmul(probabilities, split(cv, sourceHeads: kvHeads))
            // (B·H, T, D) back to (B, T, H, D).
            var merge: [Int] = []
            for b in 0..<batch {
                for t in 0..<length {
                    for h in 0..<heads { for e in 0..<d { merge.append(((b * heads + h) * length + t) * d + e) } }
                }
            }
            let cy = composed.gatherElements(attended, at: merge)
            composed.backward(from: cy, seed: Tensor(shape: [seed.count], values: seed.scalars))

            assertClose(fused.value(fy).scalars, composed.value(cy).scalars, 1e-5, "output causal \(causal)")
            for (what, a, b) in [("dq", fq, cq), ("dk", fk, ck), ("dv", fv, cv)] {
                assertClose(fused.gradient(a)!.scalars, composed.gradient(b)!.scalars, 1e-4, "\(what) causal \(causal)")
            }
        }
    }

    /// The backward gives bit-identical gradients whether it reads the probabilities the forward
    /// kept or recomputes them (the two paths run the same code on the same inputs), causal or
    /// not, with grouped heads and a row block that leaves a partial last block.
    func testKeptAndRecomputedProbabilitiesGiveIdenticalGradients() {
        let (batch, length, heads, kvHeads, d) = (2, 11, 4, 2, 6)
        let q = randomTensor([batch, length, heads, d], seed: 61), k = randomTensor([batch, length, kvHeads, d], seed: 62)
        let v = randomTensor([batch, length, kvHeads, d], seed: 63), seed = randomTensor([batch, length, heads, d], seed: 64)
        for causal in [true, false] {
            var results: [[[Float]]] = []
            for keep in [true, false] {
                let tape = Tape(pool: ThreadPool(threads: 2))
                let (tq, tk, tv) = (tape.input(q), tape.input(k), tape.input(v))
                let y = tape.attention(tq, tk, tv, causal: causal, rowBlock: 4, keepProbabilities: keep)
                tape.backward(from: y, seed: seed)
                results.append([tape.value(y).scalars] + [tq, tk, tv].map { tape.gradient($0)!.scalars })
            }
            XCTAssertEqual(results[0], results[1], "causal \(causal)")
        }
    }

    /// Self-attention on one tensor, attention(x, x, x): x's gradient is the sum of the three
    /// roles' gradients (computed with three separate copies of x), whether or not q shares a
    /// buffer with k and v (dq is written on first touch, dk and dv added).
    func testSharedQueryKeyValueGradientIsTheSumOfTheRoles() {
        let x = randomTensor([2, 5, 2, 3], seed: 71), seed = randomTensor([2, 5, 2, 3], seed: 72)
        for causal in [true, false] {
            for keep in [true, false] {
                let shared = Tape(pool: .serial)
                let sx = shared.input(x)
                shared.backward(from: shared.attention(sx, sx, sx, causal: causal, rowBlock: 2, keepProbabilities: keep), seed: seed)
                let separate = Tape(pool: .serial)
                let (q, k, v) = (separate.input(x), separate.input(x), separate.input(x))
                separate.backward(from: separate.attention(q, k, v, causal: causal, rowBlock: 2, keepProbabilities: keep), seed: seed)
                let sum = (0..<x.count).map { i in [q, k, v].reduce(Float(0)) { $0 + separate.gradient($1)![i] } }
                assertClose(shared.gradient(sx)!.scalars, sum, 1e-5, "causal \(causal) keep \(keep)")
            }
        }
    }

    /// Causal: changing keys and values at positions after i leaves outputs 0 ... i bit-identical.
    func testCausalOutputsIgnoreLaterPositions() {
        let (length, heads, d) = (9, 2, 4)
        let q = randomTensor([1, length, heads, d], seed: 35)
        let k = randomTensor([1, length, heads, d], seed: 36), v = randomTensor([1, length, heads, d], seed: 37)
        let k2 = Tensor(shape: k.shape, values: k.scalars), v2 = Tensor(shape: v.shape, values: v.scalars)
        let cut = 5
        for i in (cut * heads * d)..<k.count { k2[i] += 3; v2[i] -= 2 }
        func run(_ k: Tensor, _ v: Tensor) -> [Float] {
            let tape = Tape(pool: .serial)
            return tape.value(tape.attention(tape.constant(q), tape.constant(k), tape.constant(v), causal: true, rowBlock: 4)).scalars
        }
        let a = run(k, v), b = run(k2, v2)
        let prefix = cut * heads * d
        XCTAssertEqual(Array(a[..<prefix]), Array(b[..<prefix]))
        XCTAssertNotEqual(Array(a[prefix...]), Array(b[prefix...]))
    }

    /// Forward values and gradients of attention (MHA and GQA), RoPE and a repeated-id embedding
    /// are bit-identical on 1 and 3 threads.
    func testBitIdenticalForAnyThreadCount() {
        func run(_ pool: ThreadPool, kvHeads: Int) -> [[Float]] {
            let (batch, length, heads, d) = (3, 37, 4, 8)
            let tape = Tape(pool: pool)
            let table = tape.input(randomTensor([11, 96], seed: 41))
            let ids = (0..<(batch * length)).map { ($0 * 7) % 11 }
            let e = tape.embedding(table, ids: ids)   // (B·T, 96) = (B, T, H, D) + (B, T, Hkv, D) + (B, T, Hkv, D)
            let q = tape.input(randomTensor([batch, length, heads, d], seed: 42))
            let k = tape.input(randomTensor([batch, length, kvHeads, d], seed: 43))
            let v = tape.input(randomTensor([batch, length, kvHeads, d], seed: 44))
            let y = tape.attention(tape.rotaryEmbedding(q), tape.rotaryEmbedding(k), v, causal: true, rowBlock: 16)
            let loss = tape.add(tape.weightedSum(y, weights: randomTensor([batch, length, heads, d], seed: 45)),
                                tape.weightedSum(e, weights: randomTensor([batch * length, 96], seed: 46)))
            tape.backward(from: loss)
            return [tape.value(y).scalars] + [table, q, k, v].map { tape.gradient($0)!.scalars }
        }
        for kvHeads in [4, 2] {
            let one = run(.serial, kvHeads: kvHeads), three = run(ThreadPool(threads: 3), kvHeads: kvHeads)
            for (a, b) in zip(one, three) {
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "kv_heads \(kvHeads)")
            }
        }
    }

    func assertClose(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(b.map(abs).max() ?? 0, 1e-6)
        var worst: Float = 0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / max(abs(y), 0.01 * scale)) }
        XCTAssertLessThan(worst, tolerance, what, file: file, line: line)
    }
}
