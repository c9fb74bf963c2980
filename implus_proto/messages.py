"""IMPlus message classes. GENERATED from schemas/ by `python -m implus_proto.codegen`: do not edit."""
from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

__all__ = ['ClientList', 'ClientListEntry', 'KeyHolder', 'NormalToClient', 'NormalToServer', 'Offline', 'Online', 'SelfOffline']
MESSAGE_CLASSES = ('ClientList', 'NormalToClient', 'NormalToServer', 'Offline', 'Online', 'SelfOffline')

class ClientListEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    'ClientListEntry: One online client. It always carries its public key.'

    id: Annotated[int, Meta(ge=1, le=2147483647)]
    user_name: Annotated[str, Meta(min_length=1, max_length=64)]
    prublic_key: Annotated[str, Meta(max_length=4096)] | None = None
    public_key: Annotated[str, Meta(max_length=4096)] | None = None

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> ClientListEntry:
        return cls(id=o['id'], user_name=o['user_name'], prublic_key=o.get('prublic_key'), public_key=o.get('public_key'))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['id'] = self.id
        o['user_name'] = self.user_name
        if self.prublic_key is not None:
            o['prublic_key'] = self.prublic_key
        if self.public_key is not None:
            o['public_key'] = self.public_key
        return o

class ClientList(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    "client_list: The server's list of every online client with its public key, routing key = each recipient's user_id. Sent to every online client when one comes, and to every remaining client when one goes. Each entry's key is spelled as the recipient spelled its own key in its online message."

    type: Literal['client_list'] = 'client_list'
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: Annotated[tuple[ClientListEntry, ...], Meta(max_length=5000)]

    TYPE: ClassVar[str] = 'client_list'
    DIRECTION: ClassVar[str] = 'server-to-client'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/client_list.json'
    SCHEMA_DIGEST: ClassVar[str] = '472fff7b84ea71c1ce27fd2ab8ba1866fbfcfd8af4f6384e30986d20674d685b'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> ClientList:
        return cls(type=o['type'], created_at=o['created_at'], message=tuple([ClientListEntry._from_json(x) for x in o['message']]))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['created_at'] = self.created_at
        o['message'] = [x._to_json() for x in self.message]
        return o

class NormalToClient(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    "normal (server to client): A chat message the server forwards to its recipient, routing key = the recipient's user_id. from, from_id and destination come from the server's registry; user_id is always empty so that no client learns another's routing key."

    type: Literal['normal'] = 'normal'
    from_: Annotated[str, Meta(min_length=1, max_length=64)] = msgspec.field(name='from')
    from_id: Annotated[int, Meta(ge=1, le=2147483647)]
    user_id: Literal[''] = ''
    destination: Annotated[str, Meta(min_length=1, max_length=64)]
    destination_id: Annotated[int, Meta(ge=1, le=2147483647)]
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: Annotated[str, Meta(min_length=1, max_length=32768)]

    TYPE: ClassVar[str] = 'normal'
    DIRECTION: ClassVar[str] = 'server-to-client'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/normal.to-client.json'
    SCHEMA_DIGEST: ClassVar[str] = '114c92ad7c7e0f038ed5747e79ea555e31c70f72af082b4a826b562e6165b7d6'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> NormalToClient:
        return cls(type=o['type'], from_=o['from'], from_id=o['from_id'], user_id=o['user_id'], destination=o['destination'], destination_id=o['destination_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['from_id'] = self.from_id
        o['user_id'] = self.user_id
        o['destination'] = self.destination
        o['destination_id'] = self.destination_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

class NormalToServer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    "normal (client to server): A chat message a client sends to the server for one recipient, routing key 'server'. The server trusts none of from, destination: it fills them from its own registry."

    type: Literal['normal'] = 'normal'
    from_: Annotated[str, Meta(min_length=1, max_length=64)] = msgspec.field(name='from')
    user_id: Annotated[str, Meta(min_length=32, max_length=32)]
    destination: Annotated[str, Meta(min_length=1, max_length=64)]
    destination_id: Annotated[int, Meta(ge=1, le=2147483647)]
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: Annotated[str, Meta(min_length=1, max_length=32768)]

    TYPE: ClassVar[str] = 'normal'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/normal.to-server.json'
    SCHEMA_DIGEST: ClassVar[str] = '02fed7fac67234f2b7c9c6a1b99ba12e751f986e5a53eeb796cfbaa4439d897a'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> NormalToServer:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], destination=o['destination'], destination_id=o['destination_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['destination'] = self.destination
        o['destination_id'] = self.destination_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

class Offline(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    "offline: A client leaves, routing key 'system' (servers also accept 'server')."

    type: Literal['offline'] = 'offline'
    from_: Annotated[str, Meta(min_length=1, max_length=64)] = msgspec.field(name='from')
    user_id: Annotated[str, Meta(min_length=32, max_length=32)]
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: Annotated[str, Meta(max_length=0)]

    TYPE: ClassVar[str] = 'offline'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/offline.json'
    SCHEMA_DIGEST: ClassVar[str] = 'cd08a292a1747b822a9d07892c7c59395b5df7478e7f89101a1939ffc299cd4b'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> Offline:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o

class KeyHolder(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    'KeyHolder: An object that carries one public key, spelled either prublic_key (the seed document) or public_key (the 2014 code), never both.'

    prublic_key: Annotated[str, Meta(max_length=4096)] | None = None
    public_key: Annotated[str, Meta(max_length=4096)] | None = None

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> KeyHolder:
        return cls(prublic_key=o.get('prublic_key'), public_key=o.get('public_key'))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        if self.prublic_key is not None:
            o['prublic_key'] = self.prublic_key
        if self.public_key is not None:
            o['public_key'] = self.public_key
        return o

class Online(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    "online: A client announces itself and its public key, routing key 'system' (servers also accept 'server'). The client MUST have bound its queue before it sends this."

    type: Literal['online'] = 'online'
    from_: Annotated[str, Meta(min_length=1, max_length=64)] = msgspec.field(name='from')
    user_id: Annotated[str, Meta(min_length=32, max_length=32)]
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: KeyHolder

    TYPE: ClassVar[str] = 'online'
    DIRECTION: ClassVar[str] = 'client-to-server'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/online.json'
    SCHEMA_DIGEST: ClassVar[str] = 'b0677e5cd9249a83705b317c87aa4d8c84a10cfc93707f9631dc60af41d6ed77'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> Online:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=KeyHolder._from_json(o['message']))

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message._to_json()
        return o

class SelfOffline(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    'self_offline: A client tells its own consumer to stop, routing key = its own user_id. It never goes to the server.'

    type: Literal['self_offline'] = 'self_offline'
    from_: Annotated[str, Meta(min_length=1, max_length=64)] = msgspec.field(name='from')
    user_id: Annotated[str, Meta(min_length=32, max_length=32)]
    created_at: Annotated[int, Meta(ge=0, le=9007199254740991)] | Annotated[str, Meta(min_length=1, max_length=16)]
    message: Annotated[str, Meta(max_length=0)]

    TYPE: ClassVar[str] = 'self_offline'
    DIRECTION: ClassVar[str] = 'client-to-itself'
    SCHEMA_ID: ClassVar[str] = 'https://implus.invalid/schemas/v1/self_offline.json'
    SCHEMA_DIGEST: ClassVar[str] = '204dccd51ae867e9a535239228a3178706fcd72fb02760980cf6c50d0051009a'

    @classmethod
    def _from_json(cls, o: dict[str, Any]) -> SelfOffline:
        return cls(type=o['type'], from_=o['from'], user_id=o['user_id'], created_at=o['created_at'], message=o['message'])

    def _to_json(self) -> dict[str, Any]:
        o: dict[str, Any] = {}
        o['type'] = self.type
        o['from'] = self.from_
        o['user_id'] = self.user_id
        o['created_at'] = self.created_at
        o['message'] = self.message
        return o
