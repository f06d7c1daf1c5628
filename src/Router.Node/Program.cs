using Microsoft.Extensions.Options;
using Router.Actors.Hosting;
using Router.Node;

try
{
    RouterNodeApp.Build(args).Run();
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"Router.Node: {e.Message}");
    return 2;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Router.Node: invalid configuration: {e.Message}");
    return 2;
}
catch (RouterConfigurationException e)
{
    Console.Error.WriteLine($"Router.Node: invalid configuration: {e.Message}");
    return 2;
}
