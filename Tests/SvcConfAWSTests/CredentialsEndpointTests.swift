// The ECS container endpoint and EC2 IMDSv2 providers against a local HTTP server of the tests' own.

import Foundation
import Testing
@testable import SvcConfAWS

@Suite struct CredentialsContainerTests {
    static let token = "Bearer-token-123"

    func server(status: Int = 200, body: String = ctCredentialsJSON()) throws -> CTServer {
        try CTServer(routes: [CTRoute(method: "GET", path: "/v1/credentials", status: status, body: body,
                                      headers: ["Content-Type": "application/json"], require: ["Authorization": Self.token])])
    }

    func provider(_ env: [String: String], readFile: @escaping AWSFileReader = AWSSystem.readFile) -> ContainerCredentialsProvider {
        ContainerCredentialsProvider(environment: env, transport: ctTransport, readFile: readFile, timeout: 5, retry: ctFastRetry)
    }

    @Test func fullURIWithTokenFromEnvironment() async throws {
        let s = try server()
        defer { s.stop() }
        let c = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/v1/credentials",
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token]).credentials()
        #expect(c == AWSCredentials(accessKeyId: "ASIATESTKEY", secretAccessKey: "test/secret+key", sessionToken: "tok==",
                                    expiration: 1_893_553_445))
        let reqs = s.requests()
        #expect(reqs.count == 1)
        #expect(reqs.first?.method == "GET")
        #expect(reqs.first?.headers["authorization"] == Self.token)
    }

    @Test func tokenFromFileWinsOverEnvironment() async throws {
        let s = try server()
        defer { s.stop() }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("svcconf-ct-token-\(UUID().uuidString)").path
        try (Self.token + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let c = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/v1/credentials",
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": file,
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "stale-token"]).credentials()
        #expect(c.accessKeyId == "ASIATESTKEY")
        #expect(s.requests().first?.headers["authorization"] == Self.token)
    }

    @Test func missingTokenFileIsAnError() async {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "unreachable") }
        let p = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/x",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/nonexistent/token"],
                                             transport: t, readFile: ctFiles([:]))
        let e = await ctError { _ = try await p.credentials() }
        #expect(e?.message.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") == true)
        #expect(t.requests.isEmpty)
    }

    @Test func wrongTokenGets401() async throws {
        let s = try server()
        defer { s.stop() }
        let e = await ctError {
            _ = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/v1/credentials",
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"]).credentials()
        }
        #expect(e?.kind == .credentials)
        #expect(e?.status == 401)
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.description.contains("wrong") == false)
    }

    @Test func serverErrorIsRetriedThenReported() async throws {
        let s = try server(status: 500, body: "{\"message\":\"boom\"}")
        defer { s.stop() }
        let e = await ctError {
            _ = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/v1/credentials",
                                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token]).credentials()
        }
        #expect(e?.kind == .credentials)
        #expect(e?.status == 500)
        #expect(e?.message.contains("HTTP 500") == true)
        #expect(s.requests().count == 3)
    }

    @Test func malformedAnswers() async throws {
        let bodies = [
            "{\"AccessKeyId\": \"A\", ",
            "not json",
            "[]",
            "{\"AccessKeyId\":\"A\",\"Token\":\"t\"}",
            "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s3cr3t\",\"Expiration\":\"tomorrow\"}",
            "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s3cr3t\",\"AccessKeyId\":\"B\"}",
            "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s3cr3t\",\"Token\":7}",
        ]
        let s = try CTServer(routes: bodies.enumerated().map { i, body in
            CTRoute(method: "GET", path: "/case\(i)", body: body, require: ["Authorization": Self.token])
        })
        defer { s.stop() }
        for (i, body) in bodies.enumerated() {
            let e = await ctError {
                _ = try await provider(["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/case\(i)",
                                        "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token]).credentials()
            }
            #expect(e?.kind == .malformedResponse, "\(body)")
            #expect(e?.description.contains("s3cr3t") == false)
        }
    }

    @Test(arguments: ["http://169.254.169.254/latest", "http://10.0.0.5:8080/creds", "http://example.com/creds",
                      "http://127.0.0.1.nip.io/creds", "http://[fd00::1]/x", "not a url", "file:///etc/passwd"])
    func nonLoopbackHTTPRefusedWithoutARequest(uri: String) async {
        let t = CTRecordingTransport { _ in HTTPResponse(status: 200, headers: [], body: Array(ctCredentialsJSON().utf8)) }
        let p = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token],
                                             transport: t, readFile: ctFiles([:]))
        let e = await ctError { _ = try await p.credentials() }
        #expect(e?.kind == .credentials)
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.message.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI") == true)
        #expect(t.requests.isEmpty)
    }

    @Test func httpsAndECSAddressesAllowed() async throws {
        let t = CTRecordingTransport { _ in HTTPResponse(status: 200, headers: [], body: Array(ctCredentialsJSON().utf8)) }
        for uri in ["https://creds.example.com/v1?role=a%2Fb", "http://169.254.170.23/v1/credentials", "http://localhost:51679/x",
                    "http://[::1]:8080/x"] {
            let p = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": uri,
                                                              "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token],
                                                 transport: t, readFile: ctFiles([:]))
            _ = try await p.credentials()
        }
        #expect(t.requests.map(\.url) == ["https://creds.example.com/v1?role=a%2Fb", "http://169.254.170.23/v1/credentials",
                                          "http://localhost:51679/x", "http://[::1]:8080/x"])
        #expect(t.requests.allSatisfy { $0.header("Authorization") == Self.token })
    }

    @Test func relativeURIGoesToTheECSAgentWithoutAuthorization() async throws {
        let t = CTRecordingTransport { _ in HTTPResponse(status: 200, headers: [], body: Array(ctCredentialsJSON().utf8)) }
        let p = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc-123",
                                                          "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/ignored",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token],
                                             transport: t, readFile: ctFiles([:]))
        _ = try await p.credentials()
        #expect(t.requests.map(\.url) == ["http://169.254.170.2/v2/credentials/abc-123"])
        #expect(t.requests.first?.header("Authorization") == nil)
        let bad = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "@evil.com/x"],
                                               transport: t, readFile: ctFiles([:]))
        let e = await ctError { _ = try await bad.credentials() }
        #expect(e?.message.contains("RELATIVE_URI") == true)
        #expect(t.requests.count == 1)
    }

    @Test func notConfiguredWithoutURIs() async {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        let e = await ctError {
            _ = try await ContainerCredentialsProvider(environment: ["AWS_CONTAINER_AUTHORIZATION_TOKEN": "t"], transport: t).credentials()
        }
        #expect(e?.isCredentialsNotConfigured == true)
        #expect(t.requests.isEmpty)
    }

    @Test func controlCharactersInTokenRefused() async {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "x") }
        let p = ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/x",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\r\nX-Injected: 1"],
                                             transport: t, readFile: ctFiles([:]))
        let e = await ctError { _ = try await p.credentials() }
        #expect(e?.kind == .credentials)
        #expect(t.requests.isEmpty)
    }

    @Test func throughTheStandardChainAndCache() async throws {
        let s = try server()
        defer { s.stop() }
        let env = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": s.base + "/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN": Self.token,
                   "AWS_EC2_METADATA_DISABLED": "true"]
        let cache = AWSCredentialsCache(AWSCredentialsChain.standard(environment: env, readFile: ctFiles([:]), transport: ctTransport),
                                        clock: { 1_893_553_445 - 3600 })
        #expect(try await cache.credentials().accessKeyId == "ASIATESTKEY")
        #expect(try await cache.credentials().accessKeyId == "ASIATESTKEY")
        #expect(s.requests().count == 1)
    }
}

@Suite struct CredentialsInstanceMetadataTests {
    static let token = "imds-session-token-AAAA"
    static let listPath = "/latest/meta-data/iam/security-credentials/"

    func server(role: String? = "my-instance-role", credentialsBody: String = ctCredentialsJSON(extra: ",\"Code\":\"Success\",\"Type\":\"AWS-HMAC\""),
                tokenStatus: Int = 200) throws -> CTServer {
        var routes = [
            CTRoute(method: "PUT", path: "/latest/api/token", status: tokenStatus, body: Self.token,
                    require: ["X-aws-ec2-metadata-token-ttl-seconds": "21600"]),
        ]
        if let role {
            routes.append(CTRoute(method: "GET", path: Self.listPath, body: role + "\n", require: ["X-aws-ec2-metadata-token": Self.token]))
            routes.append(CTRoute(method: "GET", path: Self.listPath + role, body: credentialsBody,
                                  require: ["X-aws-ec2-metadata-token": Self.token]))
        }
        return try CTServer(routes: routes)
    }

    func provider(_ s: CTServer, _ extra: [String: String] = [:]) -> InstanceMetadataCredentialsProvider {
        InstanceMetadataCredentialsProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": s.base + "/"].merging(extra) { $1 },
                                            transport: ctTransport, timeout: 5, retry: ctFastRetry)
    }

    @Test func tokenRoleCredentials() async throws {
        let s = try server()
        defer { s.stop() }
        let c = try await provider(s).credentials()
        #expect(c == AWSCredentials(accessKeyId: "ASIATESTKEY", secretAccessKey: "test/secret+key", sessionToken: "tok==",
                                    expiration: 1_893_553_445))
        let reqs = s.requests()
        #expect(reqs.map { "\($0.method) \($0.path)" } == ["PUT /latest/api/token", "GET \(Self.listPath)",
                                                           "GET \(Self.listPath)my-instance-role"])
        #expect(reqs[0].headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
        #expect(reqs[1].headers["x-aws-ec2-metadata-token"] == Self.token)
        #expect(reqs[2].headers["x-aws-ec2-metadata-token"] == Self.token)
    }

    @Test func disabled() async throws {
        let s = try server()
        defer { s.stop() }
        let e = await ctError { _ = try await provider(s, ["AWS_EC2_METADATA_DISABLED": "true"]).credentials() }
        #expect(e?.isCredentialsNotConfigured == true)
        #expect(s.requests().isEmpty)
    }

    @Test func noRoleAttachedIsNotConfigured() async throws {
        let s = try server(role: nil)
        defer { s.stop() }
        let e = await ctError { _ = try await provider(s).credentials() }
        #expect(e?.isCredentialsNotConfigured == true)
        #expect(e?.message.contains("no IAM role") == true)
    }

    @Test func tokenRefusedIsReported() async throws {
        let s = try server(tokenStatus: 403)
        defer { s.stop() }
        let e = await ctError { _ = try await provider(s).credentials() }
        #expect(e?.status == 403)
        #expect(e?.isCredentialsNotConfigured == false)
    }

    @Test func failedCodeAndMalformedDocument() async throws {
        let s1 = try server(credentialsBody: #"{"Code":"AssumeRoleUnauthorizedAccess","Message":"x"}"#)
        defer { s1.stop() }
        let e1 = await ctError { _ = try await provider(s1).credentials() }
        #expect(e1?.message.contains("AssumeRoleUnauthorizedAccess") == true)
        let s2 = try server(credentialsBody: "<html>")
        defer { s2.stop() }
        let e2 = await ctError { _ = try await provider(s2).credentials() }
        #expect(e2?.kind == .malformedResponse)
    }

    @Test func explicitEndpointNotAnsweringIsReported() async {
        let p = InstanceMetadataCredentialsProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"],
                                                    transport: ctTransport, timeout: 2, retry: ctFastRetry)
        let e = await ctError { _ = try await p.credentials() }
        #expect(e?.kind == .connection || e?.kind == .timeout)
        #expect(e?.isCredentialsNotConfigured == false)
    }

    @Test func defaultAndIPv6Endpoints() async {
        let t = CTRecordingTransport { _ in throw AWSError(.connection, "no network in this test") }
        for (env, host) in [([String: String](), "169.254.169.254"), (["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"], "[fd00:ec2::254]")] {
            let p = InstanceMetadataCredentialsProvider(environment: env, transport: t, timeout: 1, retry: .none)
            let e = await ctError { _ = try await p.credentials() }
            #expect(e?.isCredentialsNotConfigured == true)
            #expect(t.requests.last?.url == "http://\(host)/latest/api/token")
            #expect(t.requests.last?.method == "PUT")
        }
    }

    @Test func defaultTimeoutIsOneSecond() {
        let p = InstanceMetadataCredentialsProvider(environment: [:], transport: CTRecordingTransport { _ in throw AWSError(.connection, "x") })
        #expect(p.timeout == 1)
    }
}
