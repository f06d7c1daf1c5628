using Akka.Configuration;

namespace Router.Tests.Support;

/// <summary>Akka configuration for actor tests: every message is run through its serializer (serialize-messages).</summary>
internal static class RouterTestConfig
{
    public static readonly Config SerializeEverything = ConfigurationFactory.ParseString("""
        akka.actor.serialize-messages = on
        akka.actor.serializers.router = "Router.Actors.Serialization.RouterSerializer, Router.Actors"
        akka.actor.serialization-bindings { "Router.Actors.Messages.IRouterMessage, Router.Actors" = router }
        akka.actor.serialization-identifiers { "Router.Actors.Serialization.RouterSerializer, Router.Actors" = 4171 }
        akka.loglevel = WARNING
        """);
}
