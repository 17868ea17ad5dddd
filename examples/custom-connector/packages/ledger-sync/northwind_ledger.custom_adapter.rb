{
  title: "Northwind Ledger",

  connection: {
    fields: [
      { name: "api_key", label: "API key", control_type: "password", optional: false }
    ],
    authorization: {
      type: "custom_auth",
      apply: lambda do |connection|
        headers("Authorization" => "Bearer #{connection['api_key']}")
      end
    },
    base_uri: lambda do |_connection|
      "https://ledger.northwind.example/api/v2/"
    end
  },

  test: lambda do |_connection|
    get("me")
  end,

  triggers: {
    new_document: {
      title: "New document",
      poll: lambda do |_connection, _input, cursor|
        page = get("documents").params(since: cursor)
        { events: page["items"], next_poll: page["cursor"], can_poll_more: page["more"] }
      end,
      dedup: lambda do |document|
        document["id"]
      end,
      output_fields: lambda do |_object_definitions|
        [{ name: "id" }, { name: "title" }, { name: "download_url" }]
      end
    }
  },

  actions: {
    get_entry: {
      title: "Get ledger entry",
      input_fields: lambda do |_object_definitions|
        [{ name: "entry_id", optional: false }]
      end,
      execute: lambda do |_connection, input|
        get("entries/#{input['entry_id']}")
      end,
      output_fields: lambda do |_object_definitions|
        [{ name: "id" }, { name: "amount", type: "number" }, { name: "memo" }]
      end
    }
  }
}
