import CairnModel
import CairnSDK
import Instrumentation
import Testing
import Tracing

@Suite("Samplers")
struct SamplerTests {
    func parameters(traceID: TraceID, parent: SpanContext? = nil) -> SamplingParameters {
        SamplingParameters(context: .topLevel, parent: parent, traceID: traceID, operationName: "op", kind: .internal)
    }

    func randomTraceID<G: RandomNumberGenerator>(_ generator: inout G) -> TraceID {
        TraceID(high: generator.next(), low: generator.next())
    }

    @Test("always_on samples and always_off drops")
    func constant() {
        let id = TraceID(high: 1, low: 2)
        #expect(AlwaysOnSampler().shouldSample(parameters(traceID: id)).decision == .recordAndSample)
        #expect(AlwaysOffSampler().shouldSample(parameters(traceID: id)).decision == .drop)
        #expect(AlwaysOnSampler().description == "AlwaysOnSampler")
        #expect(AlwaysOffSampler().description == "AlwaysOffSampler")
    }

    @Test("ratio 0.25 over 100,000 random trace ids samples 25% within one percentage point")
    func ratioShare() {
        let sampler = TraceIDRatioSampler(ratio: 0.25)
        var generator = SystemRandomNumberGenerator()
        var sampled = 0
        for _ in 0..<100_000 where sampler.samples(randomTraceID(&generator)) { sampled += 1 }
        // The standard deviation is sqrt(100000 × 0.25 × 0.75) ≈ 137, so ±1000 is more than 7 of them.
        #expect((24_000...26_000).contains(sampled))
        #expect(sampler.description == "TraceIdRatioBased{0.25}")
    }

    @Test("the decision comes from the rightmost 56 bits of the trace id against (1 - ratio) × 2^56")
    func ratioThreshold() {
        let half = TraceIDRatioSampler(ratio: 0.5)
        #expect(half.threshold == 1 << 55)
        #expect(half.samples(TraceID(high: 0, low: 1 << 55)))
        #expect(!half.samples(TraceID(high: .max, low: (1 << 55) - 1)))
        // The leftmost byte of the lower half is not part of the randomness.
        #expect(!half.samples(TraceID(high: 0, low: 0xFF00_0000_0000_0000)))
        #expect(TraceIDRatioSampler(ratio: 1).samples(TraceID(high: 0, low: 0)))
        #expect(!TraceIDRatioSampler(ratio: 0).samples(TraceID(high: .max, low: .max)))
        #expect(TraceIDRatioSampler(ratio: 7).ratio == 1)
        #expect(TraceIDRatioSampler(ratio: -1).ratio == 0)
    }

    @Test("a higher ratio samples every trace a lower ratio samples")
    func ratioNested() {
        let low = TraceIDRatioSampler(ratio: 0.1)
        let high = TraceIDRatioSampler(ratio: 0.3)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let id = randomTraceID(&generator)
            if low.samples(id) { #expect(high.samples(id)) }
        }
    }

    @Test("the same trace id gets the same decision on two tracers")
    func sameDecisionOnTwoTracers() throws {
        let (first, _) = makeTracer(sampler: TraceIDRatioSampler(ratio: 0.5))
        let (second, _) = makeTracer(sampler: TraceIDRatioSampler(ratio: 0.5))
        var generator = SystemRandomNumberGenerator()
        var sampledCount = 0
        for _ in 0..<1_000 {
            let id = randomTraceID(&generator)
            var context = ServiceContext.topLevel
            first.extract(
                ["traceparent": "00-\(id.hex)-00f067aa0ba902b7-00"], into: &context, using: DictionaryExtractor())
            let a = first.startSpan("a", context: context)
            let b = second.startSpan("b", context: context)
            #expect(a.spanContext.isSampled == b.spanContext.isSampled)
            #expect(a.spanContext.isSampled == TraceIDRatioSampler(ratio: 0.5).samples(id))
            if a.spanContext.isSampled { sampledCount += 1 }
        }
        #expect((400...600).contains(sampledCount))
    }

    @Test(
        "parent-based samplers follow the parent by where it comes from and whether it is sampled",
        arguments: [
            (false, false, SamplingDecision.drop), (false, true, .recordAndSample),
            (true, false, .drop), (true, true, .recordAndSample),
        ])
    func parentBasedDefaults(isRemote: Bool, isSampled: Bool, expected: SamplingDecision) {
        let sampler = ParentBasedSampler(root: AlwaysOffSampler())
        let parent = SpanContext(
            traceID: TraceID(high: 1, low: 1), spanID: SpanID(value: 1), traceFlags: isSampled ? .sampled : [],
            isRemote: isRemote)
        #expect(sampler.shouldSample(parameters(traceID: parent.traceID, parent: parent)).decision == expected)
    }

    @Test("parent-based samplers use the delegate of each of the five cases")
    func parentBasedDelegates() {
        func tag(_ name: String) -> ClosureSampler {
            ClosureSampler(description: name) { _ in SamplingResult(.recordOnly, attributes: ["by": .string(name)]) }
        }
        let sampler = ParentBasedSampler(
            root: tag("root"), remoteParentSampled: tag("rs"), remoteParentNotSampled: tag("rn"),
            localParentSampled: tag("ls"), localParentNotSampled: tag("ln"))
        func by(_ parent: SpanContext?) -> SpanAttribute? {
            sampler.shouldSample(parameters(traceID: TraceID(high: 1, low: 1), parent: parent)).attributes.get("by")
        }
        func parent(remote: Bool, sampled: Bool) -> SpanContext {
            SpanContext(
                traceID: TraceID(high: 1, low: 1), spanID: SpanID(value: 9), traceFlags: sampled ? .sampled : [],
                isRemote: remote)
        }
        #expect(by(nil) == "root")
        #expect(by(parent(remote: true, sampled: true)) == "rs")
        #expect(by(parent(remote: true, sampled: false)) == "rn")
        #expect(by(parent(remote: false, sampled: true)) == "ls")
        #expect(by(parent(remote: false, sampled: false)) == "ln")
        #expect(sampler.description.hasPrefix("ParentBased{root:root,"))
    }

    @Test("the default sampler follows a sampled remote parent and samples roots")
    func defaultSampler() {
        let (tracer, _) = makeTracer(sampler: CairnTracer.Configuration().sampler)
        #expect(tracer.startSpan("root", context: .topLevel).isRecording)
        var context = ServiceContext.topLevel
        tracer.extract(
            ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"], into: &context,
            using: DictionaryExtractor())
        #expect(!tracer.startSpan("child", context: context).isRecording)
    }

    @Test("the tracer decides as its sampler would: built-in samplers, parent-based combinations, and other samplers inside them")
    func tracerDecidesAsTheSampler() throws {
        // Another sampler: records only, adds an attribute and a trace state entry.
        let custom = ClosureSampler(description: "custom") { _ in
            SamplingResult(.recordOnly, attributes: ["by": "custom"], traceState: TraceState(header: "custom=1"))
        }
        let samplers: [any Sampler] = [
            AlwaysOnSampler(), AlwaysOffSampler(), TraceIDRatioSampler(ratio: 0.5), custom,
            ParentBasedSampler(root: TraceIDRatioSampler(ratio: 0.3)),
            ParentBasedSampler(root: custom, remoteParentNotSampled: custom, localParentSampled: AlwaysOffSampler()),
            ParentBasedSampler(
                root: AlwaysOffSampler(), remoteParentSampled: TraceIDRatioSampler(ratio: 0.7),
                localParentNotSampled: AlwaysOnSampler()),
        ]
        var generator = SystemRandomNumberGenerator()
        for sampler in samplers {
            let (tracer, processor) = makeTracer(sampler: sampler)
            for _ in 0..<200 {
                let id = randomTraceID(&generator)
                // No parent, a remote parent sampled or not, and a local parent sampled or not.
                var parents: [ServiceContext] = [.topLevel]
                for flags in ["01", "00"] {
                    var remote = ServiceContext.topLevel
                    tracer.extract(["traceparent": "00-\(id.hex)-00f067aa0ba902b7-\(flags)"], into: &remote,
                                   using: DictionaryExtractor())
                    parents.append(remote)
                    var local = ServiceContext.topLevel
                    local.spanContext = SpanContext(
                        traceID: id, spanID: SpanID(value: 7), traceFlags: flags == "01" ? .sampled : [], isRemote: false)
                    parents.append(local)
                }
                for context in parents {
                    let span = tracer.startSpan("op", context: context)
                    let expected = sampler.shouldSample(SamplingParameters(
                        context: context, parent: context.spanContext, traceID: span.spanContext.traceID,
                        operationName: "op", kind: .internal))
                    #expect(span.isRecording == (expected.decision != .drop), "\(sampler)")
                    #expect(span.spanContext.isSampled == (expected.decision == .recordAndSample), "\(sampler)")
                    #expect(span.spanContext.traceState == (expected.traceState ?? context.spanContext?.traceState ?? TraceState()))
                    #expect(span.attributes.get("by") == expected.attributes.get("by"))
                    span.end()
                }
            }
            _ = processor
        }
    }
}
