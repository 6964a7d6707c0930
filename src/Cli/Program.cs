Console.WriteLine("resode");
