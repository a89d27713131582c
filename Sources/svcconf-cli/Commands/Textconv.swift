import ArgumentParser
import SvcConf

struct TextconvCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "textconv",
        abstract: "Print a sealed version file redacted, for git diff (a textconv driver).",
        discussion: """
        Prints the header (service, env, variant, version, author, time, message, schema,
        recipients), then one line per value and file: secrets as keyed fingerprints (a changed
        secret shows a changed fingerprint, never the value), other values as JSON, non-secret text
        files line by line. What is secret follows the schema the version was validated against
        when the store (--store, $SVCCONF_STORE, else file:.svcconf from the repository's top
        directory) has it; otherwise everything is secret. Without a key that opens the file it
        prints the header and `(sealed: no key available)`, and still exits 0 so git diff works.

        Set it up in a git repository that keeps sealed files:
          echo '*.sealed diff=svcconf' >> .gitattributes
          git config diff.svcconf.textconv "svcconf textconv"
        then `git diff`, `git log -p` and `git show` show redacted, readable changes.

        Example:
          svcconf textconv .svcconf/configs/access-boston/prod/versions/0000000004.sealed
        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The sealed version file.", valueName: "file"))
    var file: String

    func run() async throws {
        let bytes = try FileInput.read(file, limit: SealedCodec.maxHeaderBytes + SealedCodec.maxCiphertextBytes + 128)
        Terminal.out(try await global.repository().textconv(bytes))
    }
}
