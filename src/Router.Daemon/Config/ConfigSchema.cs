namespace Router.Daemon.Config;

/// <summary>What a JSON value may be, as the schema walker and docs/router.schema.json describe it.</summary>
internal abstract record SchemaNode;

/// <summary>An object with a fixed set of case-sensitive field names.</summary>
internal sealed record ObjectNode(IReadOnlyDictionary<string, SchemaNode> Fields) : SchemaNode;

/// <summary>An object whose keys are names the user picks (interface names, peer names) and whose values share one shape.</summary>
internal sealed record MapNode(SchemaNode Value) : SchemaNode;

/// <summary>A JSON array; Microsoft.Extensions.Configuration turns its indices into path segments "0", "1", ...</summary>
internal sealed record ArrayNode(SchemaNode Item) : SchemaNode;

/// <summary>A string.</summary>
internal sealed record StringNode : SchemaNode;

/// <summary>A boolean.</summary>
internal sealed record BooleanNode : SchemaNode;

/// <summary>An integer in [Minimum, Maximum].</summary>
internal sealed record IntegerNode(long Minimum, long Maximum) : SchemaNode;

/// <summary>
/// The one description of router.json's shape: the walker checks keys and value types against it before binding,
/// and a test checks that docs/router.schema.json and the binding classes say the same.
/// </summary>
internal static class ConfigSchema
{
    private static readonly StringNode Text = new();
    private static readonly BooleanNode Flag = new();

    public static readonly ObjectNode Peer = new(new Dictionary<string, SchemaNode>
    {
        ["name"] = Text,
        ["publicKey"] = Text,
        ["presharedKeyFile"] = Text,
        ["endpoint"] = Text,
        ["allowedIps"] = new ArrayNode(Text),
        ["persistentKeepalive"] = new IntegerNode(0, 65535),
    });

    public static readonly ObjectNode Interface = new(new Dictionary<string, SchemaNode>
    {
        ["privateKeyFile"] = Text,
        ["listenPort"] = new IntegerNode(0, 65535),
        ["fwmark"] = new IntegerNode(0, uint.MaxValue),
        ["addresses"] = new ArrayNode(Text),
        ["mtu"] = new IntegerNode(576, 65535),
        ["peers"] = new ArrayNode(Peer),
    });

    /// <summary>The one field the binder has no property for: editors use it to find docs/router.schema.json.</summary>
    public const string SchemaField = "$schema";

    public static readonly ObjectNode Root = new(new Dictionary<string, SchemaNode>
    {
        [SchemaField] = Text,
        ["interfaces"] = new MapNode(Interface),
        ["leds"] = new ObjectNode(new Dictionary<string, SchemaNode>
        {
            ["board"] = Text,
            ["status"] = Text,
            // BCM GPIO numbers on the 40-pin header and the Pi 5's RP1 both run 0-53.
            ["peers"] = new MapNode(new ObjectNode(new Dictionary<string, SchemaNode>
            {
                ["gpio"] = new IntegerNode(0, 53),
                ["activeLow"] = Flag,
                ["led"] = Text,
            })),
        }),
        ["forwarding"] = new ObjectNode(new Dictionary<string, SchemaNode>
        {
            ["enabled"] = Flag,
            ["masquerade"] = new ArrayNode(Text),
            ["mssClamp"] = Flag,
        }),
        ["metrics"] = new ObjectNode(new Dictionary<string, SchemaNode>
        {
            ["enabled"] = Flag,
            ["listen"] = Text,
        }),
        ["state"] = new ObjectNode(new Dictionary<string, SchemaNode>
        {
            ["timestampFloorFile"] = Text,
        }),
    });

    /// <summary>Fields that would hold a secret inline, by the object they would sit in, with the file field to use instead.</summary>
    public static readonly IReadOnlyDictionary<string, string> InlineSecrets = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["privateKey"] = "privateKeyFile",
        ["presharedKey"] = "presharedKeyFile",
    };
}
