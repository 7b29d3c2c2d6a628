using System.Reflection;
using System.Text.Json;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>
/// docs/router.schema.json (for editors), ConfigSchema (what routerd checks) and the binding classes (what the
/// generated binder fills) must describe the same fields with the same types and ranges.
/// </summary>
public sealed class SchemaTests
{
    private static readonly JsonElement Schema = LoadSchema();

    private static JsonElement LoadSchema()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Router.sln")))
            dir = dir.Parent;
        Assert.NotNull(dir);
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.FullName, "docs", "router.schema.json"))).RootElement;
    }

    [Fact]
    public void JsonSchemaMatchesTheValidatorsSchema()
    {
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", Schema.GetProperty("$schema").GetString());
        Compare("", ConfigSchema.Root, Schema);
    }

    [Fact]
    public void BindingClassesMatchTheValidatorsSchema()
        => CompareType("", typeof(ConfigFile), ConfigSchema.Root);

    private static JsonElement Resolve(JsonElement e)
    {
        if (e.TryGetProperty("$ref", out var r))
        {
            string name = r.GetString()!["#/$defs/".Length..];
            return Schema.GetProperty("$defs").GetProperty(name);
        }
        return e;
    }

    private static void Compare(string path, SchemaNode node, JsonElement json)
    {
        json = Resolve(json);
        string type = json.GetProperty("type").GetString()!;
        switch (node)
        {
            case ObjectNode obj:
                Assert.True(type == "object", path);
                Assert.False(json.GetProperty("additionalProperties").GetBoolean(), $"{path}: unknown fields must be refused");
                var properties = json.GetProperty("properties").EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                Assert.Equal(obj.Fields.Keys.Order(), properties.Keys.Order());
                foreach (var (name, child) in obj.Fields)
                    Compare($"{path}.{name}", child, properties[name]);
                break;
            case MapNode map:
                Assert.True(type == "object", path);
                Compare($"{path}.*", map.Value, json.GetProperty("additionalProperties"));
                break;
            case ArrayNode array:
                Assert.True(type == "array", path);
                Compare($"{path}[]", array.Item, json.GetProperty("items"));
                break;
            case IntegerNode range:
                Assert.True(type == "integer", path);
                Assert.Equal(range.Minimum, json.GetProperty("minimum").GetInt64());
                Assert.Equal(range.Maximum, json.GetProperty("maximum").GetInt64());
                break;
            case BooleanNode:
                Assert.True(type == "boolean", path);
                break;
            case StringNode:
                Assert.True(type == "string", path);
                break;
        }
    }

    private static void CompareType(string path, Type type, SchemaNode node)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var map = Assert.IsType<MapNode>(node);
            CompareType($"{path}.*", type.GetGenericArguments()[1], map.Value);
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var array = Assert.IsType<ArrayNode>(node);
            CompareType($"{path}[]", type.GetGenericArguments()[0], array.Item);
        }
        else if (type == typeof(string))
            Assert.IsType<StringNode>(node);
        else if (type == typeof(bool))
            Assert.IsType<BooleanNode>(node);
        else if (type == typeof(int) || type == typeof(long))
        {
            var range = Assert.IsType<IntegerNode>(node);
            Assert.True(type == typeof(long) || range.Maximum <= int.MaxValue, $"{path}: range does not fit int");
        }
        else
        {
            var obj = Assert.IsType<ObjectNode>(node);
            var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
            Assert.Equal(obj.Fields.Keys.Where(k => k != ConfigSchema.SchemaField).Order(), properties.Select(p => char.ToLowerInvariant(p.Name[0]) + p.Name[1..]).Order());
            foreach (var p in properties)
                CompareType($"{path}.{p.Name}", p.PropertyType, obj.Fields[char.ToLowerInvariant(p.Name[0]) + p.Name[1..]]);
        }
    }
}
